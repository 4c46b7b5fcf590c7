using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
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
        var route = GatewayRoutes.Find(routeId);
        if (route is null || InfrastructurePaths.Reaches(route.ForwardedPath(context.Request.Path)))
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

        // A chunked body has no length to check up front; Kestrel stops it at the limit while it streams.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        return next(context);
    }
}
