using MlPlatform.Gateway.Diagnostics;
using Yarp.ReverseProxy.Model;

namespace MlPlatform.Gateway.Proxy;

/// <summary>Records how long each proxied request took upstream, retries included, by cluster.</summary>
internal sealed class UpstreamTimingMiddleware(RequestDelegate next, GatewayMetrics metrics, TimeProvider timeProvider)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = timeProvider.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            metrics.UpstreamCompleted(context.GetReverseProxyFeature().Route.Config.ClusterId ?? "unknown", context.Response.StatusCode, timeProvider.GetElapsedTime(started));
        }
    }
}
