using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Kong;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// Decides, before anything is forwarded, whether a proxied request may go at all: never to a service's
/// infrastructure endpoints (404, as if the path did not exist), never with a body over its route
/// group's limit (413).
/// </summary>
internal sealed class ProxyAdmissionMiddleware(RequestDelegate next, IOptions<BodyLimitOptions> bodyLimits, GatewayMetrics metrics, ILogger<ProxyAdmissionMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        // The gRPC route forwards its path as it came, as /v2 does; its pattern takes only the gRPC service's methods,
        // but an encoded dot segment could still lead a service elsewhere.
        var forwardedPath = context.Features.Get<KongRequestFeature>() is { Route: not null } kong ? kong.UpstreamPath(context.Request.Path)
            : routeId == GatewayRoutes.Grpc ? context.Request.Path.Value ?? "/"
            : GatewayRoutes.Find(routeId)?.ForwardedPath(context.Request.Path);
        if (forwardedPath is null || InfrastructurePaths.Reaches(forwardedPath))
        {
            GatewayLog.InfrastructurePathRefused(logger, routeId, context.Request.Path.Value ?? "");
            metrics.Refused(routeId, "infrastructure_path");
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var limit = bodyLimits.Value.MaxRequestBodyBytesFor(routeId);
        if (context.Request.ContentLength > limit)
        {
            metrics.Refused(routeId, "too_large");
            return GatewayProblems.WriteAsync(
                context, StatusCodes.Status413PayloadTooLarge, GatewayProblems.TooLargeTitle,
                GatewayProblems.TooLargeDetail(routeId, context.Request.ContentLength, limit));
        }

        // A chunked body has no length to check up front; Kestrel stops it at the limit while it streams. A lower limit
        // a request-size-limiting plugin set stays.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = Math.Min(bodySize.MaxRequestBodySize ?? long.MaxValue, limit);
        }

        return next(context);
    }
}
