using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Transforms;

/// <summary>Kong's request-transformer: each routed request's headers changed as its route group says, before it is forwarded.</summary>
internal sealed class RequestTransformMiddleware(RequestDelegate next, IOptions<RouteGroupTransformOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (RouteGroup.Of(context) is { } group && options.Value.For(group) is { } transform)
        {
            Transform(context.Request.Headers, transform);
        }

        return next(context);
    }

    /// <summary>Kong request-transformer's order: remove, then rename, then add (only when absent).</summary>
    private static void Transform(IHeaderDictionary headers, RequestTransformOptions transform)
    {
        foreach (var name in transform.Remove)
        {
            headers.Remove(name);
        }

        foreach (var (from, to) in transform.Rename)
        {
            if (headers.TryGetValue(from, out var value))
            {
                headers.Remove(from);
                headers[to] = value;
            }
        }

        foreach (var (name, value) in transform.Add)
        {
            if (!headers.ContainsKey(name))
            {
                headers[name] = value;
            }
        }
    }
}
