using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Extensions;
using MlPlatform.Gateway.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// Sends a proxied request again, to another replica, when the first one failed before answering and
/// sending it again cannot do harm: a GET or HEAD that failed in transport, or any request whose
/// connection was never made. YARP has no retry of its own (https://github.com/dotnet/yarp/issues/56);
/// this follows the shape discussed there: a proxy-pipeline middleware around load balancing that runs
/// the rest of the pipeline again with the failed destination removed, as long as no response has
/// started and the request body has not been read.
/// </summary>
/// <remarks>
/// Each attempt goes through YARP's passive health middleware, so every failure still counts against
/// its replica; active health checks take a dead replica out within a few probe intervals.
/// </remarks>
internal sealed class ProxyRetryMiddleware(RequestDelegate next, IOptions<GatewayOptions> options, GatewayMetrics metrics, ILogger<ProxyRetryMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var proxy = context.GetReverseProxyFeature();
        var candidates = proxy.AvailableDestinations;
        var maxAttempts = Math.Min(options.Value.MaxAttempts, candidates.Count);
        if (maxAttempts <= 1)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var body = TrackBody(context);
        var idempotent = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        var tried = new List<DestinationState>(maxAttempts);
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

            tried.Add(failed);
            if (tried.Count >= maxAttempts || ReplicaSelector.Untried(candidates, tried) is not { Count: > 0 } remaining)
            {
                return;
            }

            var reason = IsConnectFailure(error) ? "connect" : "transport";
            // YARP has already logged the failure with its exception.
            GatewayLog.ProxyRetrying(logger, proxy.Route.Config.RouteId, failed.DestinationId, reason);
            metrics.Retried(proxy.Route.Config.ClusterId!, "proxy", reason);

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
