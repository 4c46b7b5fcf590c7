using System.Collections.Frozen;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Proxy;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace MlPlatform.Gateway.Predict;

/// <summary>One request of a hop: a POST of a body already in memory, so any replica can be sent it.</summary>
internal readonly record struct HopRequest(string Path, ReadOnlyMemory<byte> Body, string? ContentType, string? InferenceHeaderLength, string RequestId, KeyValuePair<string, string>[] Headers);

/// <summary>
/// Sends one hop of a prediction to a replica of its service, chosen by the cluster's YARP load-balancing
/// policy among the replicas tried least (<see cref="LeastTried"/>), and to another replica when that one
/// fails; once every replica has been tried, to one already tried, after <see cref="ProxyOptions.RetryDelay"/>
/// (with one Service address, that address again, where the next connection usually reaches another replica).
/// Every hop is a pure function of its input, so sending it twice is harmless; what is retried and what is not:
/// <list type="bullet">
/// <item>transport failure (refused, reset, cut short): retried; the replica is reported to YARP's passive health, unless it is the service's only address;</item>
/// <item>5xx, 503 included (a full queue on one replica says nothing of the next): retried;</item>
/// <item>4xx: the request is at fault, not the replica; returned at once;</item>
/// <item>the hop timeout, which covers every attempt: returned at once.</item>
/// </list>
/// </summary>
internal sealed class HopInvoker(
    IHttpClientFactory httpClientFactory,
    IProxyStateLookup proxyState,
    IDestinationHealthUpdater healthUpdater,
    IEnumerable<ILoadBalancingPolicy> loadBalancingPolicies,
    HopAwareLoadBalancingPolicy hopCounter,
    IOptions<ProxyOptions> options,
    GatewayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<HopInvoker> logger)
{
    public const string HttpClientName = "hops";

    // Enough for any problem details or protocol error; an error body larger than this is not read for its text.
    private const int MaxErrorBodyBytes = 64 * 1024;
    private const int MaxDetailLength = 1000;

    // By name, as YARP's load balancing middleware finds a cluster's policy.
    private readonly FrozenDictionary<string, ILoadBalancingPolicy> _policies =
        loadBalancingPolicies.ToFrozenDictionary(policy => policy.Name, StringComparer.OrdinalIgnoreCase);

    public async Task<HopReply> SendAsync(HttpContext context, string hop, string model, HopRequest request)
    {
        var clientAborted = context.RequestAborted;
        var started = timeProvider.GetTimestamp();
        using var activity = GatewayMetrics.ActivitySource.StartActivity(hop);
        activity?.SetTag("mlplatform.hop", hop);
        activity?.SetTag("mlplatform.model", model);

        var reply = await SendCoreAsync(context, hop, model, request, clientAborted).ConfigureAwait(false);

        var outcome = OutcomeName(reply.Outcome);
        metrics.HopCompleted(hop, outcome, timeProvider.GetElapsedTime(started));
        activity?.SetTag("mlplatform.hop.outcome", outcome);
        activity?.SetTag("mlplatform.hop.attempts", reply.Attempts);
        if (!reply.Succeeded)
        {
            activity?.SetStatus(ActivityStatusCode.Error, reply.Detail);
        }

        return reply;
    }

    private static string OutcomeName(HopOutcome outcome) => outcome switch
    {
        HopOutcome.Success => "success",
        HopOutcome.Rejected => "rejected",
        HopOutcome.Overloaded => "overloaded",
        HopOutcome.Failed => "failed",
        HopOutcome.Unreachable => "unreachable",
        HopOutcome.TimedOut => "timeout",
        _ => "canceled",
    };

    private async Task<HopReply> SendCoreAsync(HttpContext context, string hop, string model, HopRequest request, CancellationToken clientAborted)
    {
        var settings = options.Value;
        if (!proxyState.TryGetCluster(hop, out var cluster))
        {
            return HopReply.Unreachable($"no {hop} replica is configured");
        }

        using var timeout = new CancellationTokenSource(settings.HopTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(clientAborted, timeout.Token);
        var client = httpClientFactory.CreateClient(HttpClientName);
        var policy = _policies[cluster.Model.Config.LoadBalancingPolicy ?? LoadBalancingPolicies.PowerOfTwoChoices];
        List<DestinationState>? tried = null;
        var attempts = 0;
        HopReply? failure = null;

        while (attempts < settings.MaxAttempts
            && policy.PickDestination(context, cluster, LeastTried.Of(cluster.DestinationsState.AvailableDestinations, tried)) is { } destination)
        {
            if (failure is not null)
            {
                metrics.Retried(hop, "predict", OutcomeName(failure.Outcome));
            }

            var again = LeastTried.WasTried(tried, destination);
            attempts++;
            HopReply attempt;
            try
            {
                if (again && settings.RetryDelay > TimeSpan.Zero)
                {
                    await Task.Delay(settings.RetryDelay, timeProvider, linked.Token).ConfigureAwait(false);
                }

                attempt = await AttemptAsync(client, destination, request, settings, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (clientAborted.IsCancellationRequested)
            {
                failure?.Dispose();
                return HopReply.Canceled();
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                failure?.Dispose();
                GatewayLog.HopTimedOut(logger, hop, model, settings.HopTimeout);
                return HopReply.TimedOut();
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException)
            {
                var reason = TransportFailures.Describe(exception);
                GatewayLog.HopAttemptFailed(logger, hop, attempts, destination.DestinationId, $"{reason} ({TransportFailures.RootCause(exception)})");
                // A lone destination is a Service address: a refused or reset connection is one replica behind
                // it, not the address. HealthyOrPanic would hand it back at once anyway, so taking it out
                // would change nothing but the logs, which would then say it was out.
                if (cluster.DestinationsState.AllDestinations.Count > 1)
                {
                    healthUpdater.SetPassive(cluster, destination, DestinationHealth.Unhealthy, settings.ReactivationPeriod);
                    GatewayLog.ReplicaTakenOut(logger, hop, destination.DestinationId, settings.ReactivationPeriod);
                }

                attempt = HopReply.Unreachable(reason);
            }

            attempt.Attempts = attempts;
            if (attempt.Outcome is HopOutcome.Success or HopOutcome.Rejected)
            {
                failure?.Dispose();
                if (attempt.Outcome == HopOutcome.Rejected)
                {
                    GatewayLog.HopRejected(logger, hop, model, attempt.Status);
                }

                return attempt;
            }

            // Only now: a hop that succeeds at once, as nearly all do, needs no list.
            (tried ??= new List<DestinationState>(settings.MaxAttempts)).Add(destination);
            if (attempt.Outcome != HopOutcome.Unreachable)
            {
                GatewayLog.HopAttemptFailed(logger, hop, attempts, destination.DestinationId, $"{attempt.Status}: {attempt.Detail}");
            }

            if (failure is null || attempt.Weight >= failure.Weight)
            {
                failure?.Dispose();
                failure = attempt;
            }
            else
            {
                failure.Attempts = attempts;
                attempt.Dispose();
            }
        }

        failure ??= HopReply.Unreachable($"no {hop} replica is available");
        GatewayLog.HopFailed(logger, hop, model, failure.Detail);
        return failure;
    }

    private async Task<HopReply> AttemptAsync(HttpClient client, DestinationState destination, HopRequest request, ProxyOptions settings, CancellationToken cancellationToken)
    {
        using var lease = hopCounter.StartHop(destination);
        using var message = new HttpRequestMessage(HttpMethod.Post, destination.Model.Config.Address.TrimEnd('/') + request.Path)
        {
            Content = new ReadOnlyMemoryContent(request.Body),
        };
        if (request.ContentType is not null)
        {
            message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        }

        if (request.InferenceHeaderLength is not null)
        {
            message.Headers.TryAddWithoutValidation(ProtocolParameters.HeaderContentLength, request.InferenceHeaderLength);
        }

        message.Headers.TryAddWithoutValidation(RequestId.HeaderName, request.RequestId);
        foreach (var (name, value) in request.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        var started = timeProvider.GetTimestamp();

        using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        metrics.UpstreamCompleted(ClusterOf(destination), status, timeProvider.GetElapsedTime(started));
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            if (status is >= 200 and < 300)
            {
                var body = await PooledBody.ReadAsync(stream, response.Content.Headers.ContentLength, settings.MaxHopResponseBytes, cancellationToken).ConfigureAwait(false);
                return body is null
                    ? HopReply.Failed(status, $"its response is larger than the {settings.MaxHopResponseBytes} bytes the gateway accepts")
                    : HopReply.Success(status, body, response.Content.Headers.ContentType?.ToString(), HeaderValue(response, ProtocolParameters.HeaderContentLength));
            }

            var detail = await ReadDetailAsync(stream, response, cancellationToken).ConfigureAwait(false);
            return status switch
            {
                >= 400 and < 500 => HopReply.Rejected(status, detail),
                StatusCodes.Status503ServiceUnavailable => HopReply.Overloaded(detail, HeaderValue(response, "Retry-After")),
                _ => HopReply.Failed(status, detail),
            };
        }
    }

    /// <summary>The destination ids are <c>{service}/{index}</c>; the service is the cluster.</summary>
    private static string ClusterOf(DestinationState destination)
    {
        var id = destination.DestinationId;
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? id[..slash] : id;
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(",", values)
            : null;

    /// <summary>The hop's own words: problem details' <c>detail</c> (or <c>title</c>), the protocol's <c>error</c>, or the text itself.</summary>
    private static async Task<string> ReadDetailAsync(Stream stream, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var body = await PooledBody.ReadAsync(stream, response.Content.Headers.ContentLength, MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
        var fallback = $"it answered {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        if (body is null || body.Memory.IsEmpty)
        {
            return fallback;
        }

        try
        {
            using var document = JsonDocument.Parse(body.Memory);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var name in (ReadOnlySpan<string>)["detail", "error", "title"])
                {
                    if (document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text)
                    {
                        return Shorten(text);
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        var plain = Encoding.UTF8.GetString(body.Memory.Span).Trim();
        return plain.Length > 0 ? Shorten(plain) : fallback;
    }

    private static string Shorten(string text) => text.Length <= MaxDetailLength ? text : string.Concat(text.AsSpan(0, MaxDetailLength), "…");
}
