using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Policies;

/// <summary>
/// The traffic policy of every routed request, in the order Kong's plugins run (key-auth, rate-limiting,
/// request-transformer): consumer headers a client sent are dropped, the key is checked and hidden, the
/// request is counted and its headers transformed.
/// The gateway's own endpoints (health, metrics, docs, the development Try it page) have no route group and pass untouched.
/// </summary>
internal sealed class GatewayPolicyMiddleware(
    RequestDelegate next,
    KeyAuthenticator authenticator,
    RateLimiter rateLimiter,
    IOptions<KeyAuthOptions> keyAuth,
    IOptions<RateLimitingOptions> rateLimiting,
    IOptions<RouteGroupPolicyOptions> routeGroups,
    GatewayMetrics metrics)
{
    private static readonly byte[] NoKeyBody = JsonSerializer.SerializeToUtf8Bytes(new { message = "No API key found in request" });
    private static readonly byte[] UnauthorizedBody = JsonSerializer.SerializeToUtf8Bytes(new { message = "Unauthorized" });
    private const string Challenge = "Key realm=\"mlplatform\"";

    public Task InvokeAsync(HttpContext context)
    {
        var group = RouteGroup.Of(context);
        if (group is null)
        {
            return next(context);
        }

        var headers = context.Request.Headers;
        headers.Remove(UpstreamHeaders.ConsumerId);
        headers.Remove(UpstreamHeaders.ConsumerUsername);

        Consumer? consumer = null;
        if (keyAuth.Value.IsEnabledFor(group))
        {
            (consumer, var failure) = authenticator.Authenticate(context.Request);
            if (consumer is null)
            {
                metrics.AuthFailed(group, failure switch
                {
                    KeyAuthFailure.Missing => "missing",
                    KeyAuthFailure.Conflicting => "conflicting",
                    _ => "invalid",
                });
                context.Response.Headers.WWWAuthenticate = Challenge;
                return WriteJsonAsync(context, StatusCodes.Status401Unauthorized, failure == KeyAuthFailure.Missing ? NoKeyBody : UnauthorizedBody);
            }

            authenticator.HideCredentials(context.Request);
            headers[UpstreamHeaders.ConsumerId] = consumer.Id;
            headers[UpstreamHeaders.ConsumerUsername] = consumer.Username;
        }

        return rateLimiting.Value.IsEnabledFor(group)
            ? RateLimitedAsync(context, group, consumer)
            : ForwardAsync(context, group);
    }

    private async Task RateLimitedAsync(HttpContext context, string group, Consumer? consumer)
    {
        var decision = await rateLimiter.CheckAsync(context, group, consumer).ConfigureAwait(false);
        if (!decision.Allowed)
        {
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
            var body = JsonSerializer.SerializeToUtf8Bytes(new RateLimitedBody("API rate limit exceeded", RequestId.Of(context)));
            await WriteJsonAsync(context, StatusCodes.Status429TooManyRequests, body).ConfigureAwait(false);
            return;
        }

        await ForwardAsync(context, group).ConfigureAwait(false);
    }

    private Task ForwardAsync(HttpContext context, string group)
    {
        var settings = routeGroups.Value.For(group);
        if (settings is null)
        {
            return next(context);
        }

        Transform(context.Request.Headers, settings.Request);
        return next(context);
    }

    /// <summary>Kong request-transformer's order: remove, then rename, then add (only when absent).</summary>
    internal static void Transform(IHeaderDictionary headers, RequestTransformOptions transform)
    {
        foreach (var name in transform.Remove)
        {
            headers.Remove(name);
        }

        foreach (var (from, to) in transform.Rename)
        {
            if (headers.TryGetValue(from, out var value))
            {
                headers.Remove(from);
                headers[to] = value;
            }
        }

        foreach (var (name, value) in transform.Add)
        {
            if (!headers.ContainsKey(name))
            {
                headers[name] = value;
            }
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private sealed record RateLimitedBody(
        [property: System.Text.Json.Serialization.JsonPropertyName("message")] string Message,
        [property: System.Text.Json.Serialization.JsonPropertyName("request_id")] string RequestId);
}
