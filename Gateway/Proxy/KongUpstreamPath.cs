using MlPlatform.Gateway.Kong;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// What a declarative configuration's route sends its service: the path, by Kong's strip_path and service path
/// (<see cref="KongRequestFeature.UpstreamPath"/>), and with preserve_host the client's Host. Per request, since the
/// routes of one service share its YARP route.
/// </summary>
internal static class KongUpstreamPath
{
    public static void Add(TransformBuilderContext context)
    {
        if (!KongConfiguration.IsKongId(context.Route.RouteId))
        {
            return;
        }

        // The client's Host goes on unless this transform, which runs after it, takes it out: the routes of one YARP
        // route differ in preserve_host, and without the explicit transform YARP's own default would run last.
        context.AddOriginalHost(true);
        context.AddRequestTransform(transform =>
        {
            if (transform.HttpContext.Features.Get<KongRequestFeature>() is { } feature)
            {
                transform.Path = new PathString(feature.UpstreamPath(transform.HttpContext.Request.Path));
                if (feature.Route?.Entity.PreserveHost != true)
                {
                    // No Host of its own: the client sends the destination's.
                    transform.ProxyRequest.Headers.Host = null;
                }
            }

            return ValueTask.CompletedTask;
        });
    }
}
