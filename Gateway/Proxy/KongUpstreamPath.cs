using MlPlatform.Gateway.Kong;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace MlPlatform.Gateway.Proxy;

/// <summary>The path a declarative configuration's route sends its service: Kong's strip_path and service path (<see cref="KongRequestFeature.UpstreamPath"/>).</summary>
internal static class KongUpstreamPath
{
    public static void Add(TransformBuilderContext context)
    {
        if (!KongConfiguration.IsKongId(context.Route.RouteId))
        {
            return;
        }

        context.AddRequestTransform(transform =>
        {
            if (transform.HttpContext.Features.Get<KongRequestFeature>() is { } feature)
            {
                transform.Path = new PathString(feature.UpstreamPath(transform.HttpContext.Request.Path));
            }

            return ValueTask.CompletedTask;
        });
    }
}
