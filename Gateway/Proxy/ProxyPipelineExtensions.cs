using Microsoft.AspNetCore.Http.Timeouts;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Kong;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Proxy;

public static class ProxyPipelineExtensions
{
    /// <summary>
    /// Maps YARP's routes with the gateway's proxy pipeline, each route's endpoint in the route group of its route id;
    /// the gRPC route's on the gRPC port only.
    /// </summary>
    public static ReverseProxyConventionBuilder MapGatewayProxy(this IEndpointRouteBuilder app) =>
        app.MapReverseProxy(proxy => proxy.UseGatewayProxyPipeline())
            .ConfigureEndpoints((endpoint, route) =>
            {
                endpoint.WithRouteGroup(route.RouteId);
                if (route.RouteId == GatewayRoutes.Grpc || KongConfiguration.IsGrpcRouteId(route.RouteId))
                {
                    endpoint.OnGrpcPort();
                }
            });

    /// <summary>
    /// YARP's standard pipeline with the gateway's steps in front: hand a route group's timeout back as one,
    /// refuse what must not be forwarded, then retry on another replica around load balancing and passive health.
    /// </summary>
    private static IReverseProxyApplicationBuilder UseGatewayProxyPipeline(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.Use(RethrowRequestTimeoutAsync);
        proxy.UseMiddleware<ProxyAdmissionMiddleware>();
        proxy.UseMiddleware<UpstreamTimingMiddleware>();
        proxy.UseMiddleware<ProxyRetryMiddleware>();
        proxy.UseSessionAffinity();
        proxy.UseLoadBalancing();
        proxy.UsePassiveHealthChecks();
        return proxy;
    }

    /// <summary>
    /// YARP takes a cancelled <c>RequestAborted</c> for a client gone and answers 400 (dotnet/yarp#2662), also when the
    /// route group's request timeout cancelled it: the cancellation goes on up, and the request timeouts middleware
    /// answers with the group's 504.
    /// </summary>
    private static async Task RethrowRequestTimeoutAsync(HttpContext context, RequestDelegate next)
    {
        await next(context).ConfigureAwait(false);
        if (context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken is { IsCancellationRequested: true } timedOut && !context.Response.HasStarted)
        {
            throw new OperationCanceledException(timedOut);
        }
    }
}
