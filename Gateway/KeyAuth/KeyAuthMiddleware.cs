using System.Text.Json;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.KeyAuth;

/// <summary>
/// Kong's key-auth on every routed request: consumer headers a client sent are dropped, the key is checked and
/// hidden, and the consumer it names goes upstream in <c>X-Consumer-ID</c> and <c>X-Consumer-Username</c>.
/// The gateway's own endpoints (health, metrics, docs, the development Try it page) have no route group and pass untouched.
/// A gRPC call is refused with UNAUTHENTICATED and the same message.
/// </summary>
internal sealed class KeyAuthMiddleware(RequestDelegate next, KeyAuthenticator<Consumer> authenticator, IOptions<KeyAuthOptions> options, GatewayMetrics metrics)
{
    // Kong's words, in its JSON body over REST and as the status message of a gRPC call.
    internal const string NoKeyMessage = "No API key found in request";
    internal const string UnauthorizedMessage = "Unauthorized";
    internal static readonly byte[] NoKeyBody = JsonSerializer.SerializeToUtf8Bytes(new { message = NoKeyMessage });
    internal static readonly byte[] UnauthorizedBody = JsonSerializer.SerializeToUtf8Bytes(new { message = UnauthorizedMessage });
    private const string Challenge = "Key realm=\"mlplatform\"";

    public Task InvokeAsync(HttpContext context)
    {
        var group = RouteGroup.Of(context);
        if (group is null)
        {
            return next(context);
        }

        // On every group, keys on or off: only the gateway names consumers, and rate limiting counts by them.
        var headers = context.Request.Headers;
        headers.Remove(UpstreamHeaders.ConsumerId);
        headers.Remove(UpstreamHeaders.ConsumerUsername);
        if (!options.Value.IsEnabledFor(group))
        {
            return next(context);
        }

        var (consumer, failure) = authenticator.Authenticate(context.Request);
        if (consumer is null)
        {
            metrics.AuthFailed(group, failure switch
            {
                KeyAuthFailure.Missing => "missing",
                KeyAuthFailure.Conflicting => "conflicting",
                _ => "invalid",
            });
            if (GrpcPortEndpoints.IsGrpcEndpoint(context))
            {
                return GrpcStatus.WriteAsync(context, GrpcStatusCode.Unauthenticated, failure == KeyAuthFailure.Missing ? NoKeyMessage : UnauthorizedMessage);
            }

            context.Response.Headers.WWWAuthenticate = Challenge;
            return JsonBody.WriteAsync(context, StatusCodes.Status401Unauthorized, failure == KeyAuthFailure.Missing ? NoKeyBody : UnauthorizedBody);
        }

        authenticator.HideCredentials(context.Request);
        headers[UpstreamHeaders.ConsumerId] = consumer.Id;
        headers[UpstreamHeaders.ConsumerUsername] = consumer.Username;
        return next(context);
    }
}
