using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Proxy;

public static class ProxyPipelineExtensions
{
    /// <summary>Maps YARP's routes with the gateway's proxy pipeline, each route's endpoint in the route group of its route id.</summary>
    public static ReverseProxyConventionBuilder MapGatewayProxy(this IEndpointRouteBuilder app) =>
        app.MapReverseProxy(proxy => proxy.UseGatewayProxyPipeline())
            .ConfigureEndpoints((endpoint, route) => endpoint.WithRouteGroup(route.RouteId));

    /// <summary>
    /// YARP's standard pipeline with the gateway's steps in front: refuse what must not be forwarded,
    /// then retry on another replica around load balancing and passive health.
    /// </summary>
    public static IReverseProxyApplicationBuilder UseGatewayProxyPipeline(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseMiddleware<ProxyAdmissionMiddleware>();
        proxy.UseMiddleware<UpstreamTimingMiddleware>();
        proxy.UseMiddleware<ProxyRetryMiddleware>();
        proxy.UseSessionAffinity();
        proxy.UseLoadBalancing();
        proxy.UsePassiveHealthChecks();
        return proxy;
    }
}
