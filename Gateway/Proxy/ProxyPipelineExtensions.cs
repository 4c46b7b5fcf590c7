namespace MlPlatform.Gateway.Proxy;

public static class ProxyPipelineExtensions
{
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
