using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// Sends a proxied request again when an attempt failed before answering and sending it again cannot do
/// harm: a GET or HEAD that failed in transport, or any request whose connection was never made. YARP has
/// no retry of its own (https://github.com/dotnet/yarp/issues/56); this follows the shape discussed there:
/// a proxy-pipeline middleware around load balancing that runs the rest of the pipeline again with the
/// failed destination removed, as long as no response has started and the request body has not been read.
/// Once every destination has been tried, those tried least are candidates again, after
/// <see cref="ProxyOptions.RetryDelay"/>: with one Service address, the next connection to it usually
/// reaches another replica.
/// </summary>
/// <remarks>
/// Each attempt goes through YARP's passive health middleware, so every failure still counts against
/// its replica; active health checks take a dead replica out within a few probe intervals.
/// </remarks>
internal sealed class ProxyRetryMiddleware(
    RequestDelegate next,
    IOptions<ProxyOptions> options,
    GatewayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<ProxyRetryMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var proxy = context.GetReverseProxyFeature();
        var candidates = proxy.AvailableDestinations;
        var settings = options.Value;
        var maxAttempts = proxy.Cluster.Config.Metadata?.TryGetValue(GatewayProxyConfigProvider.MaxAttemptsMetadata, out var attempts) == true
            ? int.Parse(attempts, System.Globalization.CultureInfo.InvariantCulture)
            : settings.MaxAttempts;
        if (maxAttempts <= 1 || candidates.Count == 0)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var body = TrackBody(context);
        var idempotent = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        List<DestinationState>? tried = null;
        while (true)
        {
            await next(context).ConfigureAwait(false);

            if (context.Features.Get<IForwarderErrorFeature>() is not { } error
                || proxy.ProxiedDestination is not { } failed
                || context.Response.HasStarted
                || context.RequestAborted.IsCancellationRequested
                || body?.ReadStarted == true
                || !(IsConnectFailure(error) || (idempotent && error.Error == ForwarderError.Request)))
            {
                return;
            }

            // Only now: a request answered at once, as nearly all are, needs no list.
            tried ??= new List<DestinationState>(maxAttempts);
            tried.Add(failed);
            if (tried.Count >= maxAttempts)
            {
                return;
            }

            var remaining = LeastTried.Of(candidates, tried);
            var reason = IsConnectFailure(error) ? "connect" : "transport";
            // YARP has already logged the failure with its exception.
            GatewayLog.ProxyRetrying(logger, proxy.Route.Config.RouteId, tried.Count, failed.DestinationId, reason);
            metrics.Retried(proxy.Route.Config.ClusterId!, "proxy", reason);

            // The least tried are all tried as often, so the first says whether this attempt repeats an address.
            if (LeastTried.WasTried(tried, remaining[0]) && settings.RetryDelay > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(settings.RetryDelay, timeProvider, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    // Gone, or past the route group's timeout, which the step in front answers: no attempt is left to make.
                    return;
                }
            }

            // The failed attempt left a 502 and YARP's error feature behind; the next one starts clean.
            context.Response.Clear();
            context.Features.Set<IForwarderErrorFeature>(null);
            proxy.ProxiedDestination = null;
            proxy.AvailableDestinations = remaining;
        }
    }

    private static ReadTrackingStream? TrackBody(HttpContext context)
    {
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return null;
        }

        var tracking = new ReadTrackingStream(context.Request.Body);
        context.Request.Body = tracking;
        return tracking;
    }

    /// <summary>Whether the connection to the replica was never made, so nothing of the request reached it.</summary>
    private static bool IsConnectFailure(IForwarderErrorFeature error) =>
        error.Error is ForwarderError.Request or ForwarderError.RequestTimedOut && TransportFailures.IsConnectFailure(error.Exception);
}
