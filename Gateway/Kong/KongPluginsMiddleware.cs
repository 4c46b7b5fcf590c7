using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.KeyAuth;
using MlPlatform.Gateway.Kong.Plugins;
using MlPlatform.Gateway.RateLimiting;

namespace MlPlatform.Gateway.Kong;

/// <summary>
/// The plugins of a declarative configuration on every request it routed, in Kong's order of priority: cors (2000),
/// key-auth (1250), request-size-limiting (951), rate-limiting (910), request-transformer (801). cors and key-auth are
/// picked before the consumer is known, the others after, so a consumer's own plugin replaces its service's.
/// </summary>
internal sealed class KongPluginsMiddleware(RequestDelegate next, GatewayMetrics metrics)
{
    public const string ConsumerIdHeader = "X-Consumer-ID";
    public const string ConsumerUsernameHeader = "X-Consumer-Username";
    public const string ConsumerCustomIdHeader = "X-Consumer-Custom-ID";
    public const string CredentialIdentifierHeader = "X-Credential-Identifier";
    public const string AnonymousConsumerHeader = "X-Anonymous-Consumer";

    private static readonly string[] ConsumerHeaders = [ConsumerIdHeader, ConsumerUsernameHeader, ConsumerCustomIdHeader, CredentialIdentifierHeader, AnonymousConsumerHeader];

    public Task InvokeAsync(HttpContext context) =>
        context.Features.Get<KongRequestFeature>() is { Route: { } route } feature && KongRouteMatcherPolicy.IsRouted(context.GetEndpoint())
            ? RunAsync(context, feature, route)
            : next(context);

    private async Task RunAsync(HttpContext context, KongRequestFeature feature, KongRoute route)
    {
        var request = context.Request;
        var headers = request.Headers;
        // Only the gateway names consumers: upstream services and rate limiting trust these.
        foreach (var name in ConsumerHeaders)
        {
            headers.Remove(name);
        }

        var configuration = feature.Configuration;
        var plugins = configuration.PluginsFor(route, feature.Grpc, null);
        var group = route.Entity.Name ?? route.Entity.Key;
        if (plugins.Cors is { } cors)
        {
            if (cors.HandlePreflight(context))
            {
                return;
            }

            cors.OnResponseStarting(context);
        }

        ConsumerEntity? consumer = null;
        KongCredential? credential = null;
        if (plugins.KeyAuth is { } keyAuth && (keyAuth.Config.RunOnPreflight || !HttpMethods.IsOptions(request.Method)))
        {
            var (found, failure, bodyKeyName) = await keyAuth.AuthenticateAsync(request).ConfigureAwait(false);
            if (found is not null)
            {
                credential = found;
                consumer = found.Consumer;
                headers[CredentialIdentifierHeader] = found.Id;
                if (keyAuth.Config.HideCredentials)
                {
                    await keyAuth.HideAsync(request, bodyKeyName).ConfigureAwait(false);
                }
            }
            else if (keyAuth.Anonymous is { } anonymous)
            {
                consumer = anonymous;
                headers[AnonymousConsumerHeader] = "true";
            }
            else
            {
                metrics.AuthFailed(group, failure switch
                {
                    KeyAuthFailure.Missing => "missing",
                    KeyAuthFailure.Conflicting => "conflicting",
                    _ => "invalid",
                });
                var missing = failure == KeyAuthFailure.Missing;
                if (feature.Grpc)
                {
                    await GrpcStatus.WriteAsync(context, GrpcStatusCode.Unauthenticated, missing ? KeyAuthMiddleware.NoKeyMessage : KeyAuthMiddleware.UnauthorizedMessage).ConfigureAwait(false);
                    return;
                }

                context.Response.Headers.WWWAuthenticate = keyAuth.Challenge;
                await JsonBody.WriteAsync(context, StatusCodes.Status401Unauthorized, missing ? KeyAuthMiddleware.NoKeyBody : KeyAuthMiddleware.UnauthorizedBody).ConfigureAwait(false);
                return;
            }

            headers[ConsumerIdHeader] = consumer.Key;
            if (consumer.Username is { } username)
            {
                headers[ConsumerUsernameHeader] = username;
            }

            if (consumer.CustomId is { } customId)
            {
                headers[ConsumerCustomIdHeader] = customId;
            }
        }

        if (consumer is not null)
        {
            plugins = configuration.PluginsFor(route, feature.Grpc, consumer);
        }

        if (plugins.SizeLimit?.Check(context) is { } tooLarge)
        {
            metrics.Refused(group, "too_large");
            await RefuseAsync(context, feature, tooLarge).ConfigureAwait(false);
            return;
        }

        if (plugins.RateLimit is { } rateLimit)
        {
            var decision = await rateLimit.CheckAsync(context, feature, credential, consumer).ConfigureAwait(false);
            if (!decision.Allowed)
            {
                await RateLimitedAsync(context, feature, rateLimit, decision, group).ConfigureAwait(false);
                return;
            }
        }

        if (plugins.Transformer is { } transformer && await transformer.ApplyAsync(context).ConfigureAwait(false) is { } refused)
        {
            metrics.Refused(group, "transform");
            await RefuseAsync(context, feature, refused).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    private async Task RateLimitedAsync(HttpContext context, KongRequestFeature feature, KongRateLimit rateLimit, RateLimitDecision decision, string group)
    {
        if (decision.Unavailable)
        {
            metrics.Refused(group, "ratelimit_unavailable");
            await GatewayProblems.WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, "Rate-limit counters unavailable",
                "The gateway cannot reach its rate-limit counters, and the route's rate-limiting plugin is not fault_tolerant. Retry shortly.").ConfigureAwait(false);
            return;
        }

        metrics.RateLimitRejected(group, decision.ExceededWindow ?? "unknown");
        if (!rateLimit.Config.HideClientHeaders)
        {
            context.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        if (feature.Grpc)
        {
            await GrpcStatus.WriteAsync(context, GrpcStatusCode.ResourceExhausted, rateLimit.Config.ErrorMessage).ConfigureAwait(false);
            return;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new KongMessage(rateLimit.Config.ErrorMessage, RequestId.Of(context)));
        await JsonBody.WriteAsync(context, rateLimit.StatusCode, body).ConfigureAwait(false);
    }

    /// <summary>A plugin's refusal as Kong writes one, <c>{"message": ...}</c>; on the gRPC port as the nearest gRPC status.</summary>
    private static Task RefuseAsync(HttpContext context, KongRequestFeature feature, PluginRefusal refusal)
    {
        if (feature.Grpc)
        {
            var code = refusal.StatusCode switch
            {
                StatusCodes.Status401Unauthorized => GrpcStatusCode.Unauthenticated,
                StatusCodes.Status403Forbidden => GrpcStatusCode.PermissionDenied,
                StatusCodes.Status413PayloadTooLarge or StatusCodes.Status429TooManyRequests => GrpcStatusCode.ResourceExhausted,
                _ => GrpcStatusCode.InvalidArgument,
            };
            return GrpcStatus.WriteAsync(context, code, refusal.Message);
        }

        return JsonBody.WriteAsync(context, refusal.StatusCode, JsonSerializer.SerializeToUtf8Bytes(new KongMessage(refusal.Message, RequestId.Of(context))));
    }
}

/// <summary>Kong's error body, with the request id the gateway answers every request with.</summary>
internal sealed record KongMessage(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("request_id")] string RequestId);
