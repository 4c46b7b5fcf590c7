using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.RateLimiting;

/// <summary>
/// Kong's rate-limiting on every routed request whose route group is limited: counted, or refused with 429 (503 without
/// counters, when not fault tolerant); a gRPC call with RESOURCE_EXHAUSTED (UNAVAILABLE).
/// </summary>
internal sealed class RateLimitingMiddleware(RequestDelegate next, RateLimiter rateLimiter, IOptions<RateLimitingOptions> options, GatewayMetrics metrics)
{
    // Kong's words, in its JSON body over REST and as the status message of a gRPC call.
    internal const string RateLimitedMessage = "API rate limit exceeded";

    public Task InvokeAsync(HttpContext context) =>
        RouteGroup.Of(context) is { } group && options.Value.IsEnabledFor(group) ? LimitAsync(context, group) : next(context);

    private async Task LimitAsync(HttpContext context, string group)
    {
        var decision = await rateLimiter.CheckAsync(context, group).ConfigureAwait(false);
        if (decision.Allowed)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (decision.Unavailable)
        {
            metrics.Refused(group, "ratelimit_unavailable");
            await GatewayProblems.WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, "Rate-limit counters unavailable",
                "The gateway cannot reach its rate-limit counters and is configured to refuse traffic until it can (Gateway:RateLimiting:FaultTolerant is false). Retry shortly.").ConfigureAwait(false);
            return;
        }

        metrics.RateLimitRejected(group, decision.ExceededWindow ?? "unknown");
        context.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        if (GrpcPortEndpoints.IsGrpcEndpoint(context))
        {
            // The rate-limit headers and the request id go with it, as the call's trailers.
            await GrpcStatus.WriteAsync(context, GrpcStatusCode.ResourceExhausted, RateLimitedMessage).ConfigureAwait(false);
            return;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new RateLimitedBody(RateLimitedMessage, RequestId.Of(context)));
        await JsonBody.WriteAsync(context, StatusCodes.Status429TooManyRequests, body).ConfigureAwait(false);
    }

    private sealed record RateLimitedBody(
        [property: JsonPropertyName("message")] string Message,
        [property: JsonPropertyName("request_id")] string RequestId);
}
