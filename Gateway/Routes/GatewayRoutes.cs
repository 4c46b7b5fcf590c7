namespace MlPlatform.Gateway.Routes;

/// <summary>
/// The route groups every policy is set by: <c>predict</c>, one per path route of the Ingress the gateway
/// replaces, <c>/v2/**</c> to inference with the path kept, <c>/preprocess/**</c> and <c>/postprocess/**</c> with
/// their prefix removed, and <c>grpc</c>, the Open Inference Protocol's gRPC service on the gateway's gRPC port.
/// </summary>
public static class GatewayRoutes
{
    /// <summary>The route group of the predict endpoint.</summary>
    public const string Predict = "predict";

    /// <summary>The route group of the gRPC route, which forwards the Open Inference Protocol's gRPC service to inference.</summary>
    public const string Grpc = "grpc";

    public static readonly IReadOnlyList<ProxyRoute> Proxied =
    [
        new(BackendServices.Inference, "/v2", KeepPrefix: true),
        new(BackendServices.Preprocessing, "/preprocess", KeepPrefix: false),
        new(BackendServices.Postprocessing, "/postprocess", KeepPrefix: false),
    ];

    /// <summary>Every route group: predict, each proxied route under its route id, and gRPC.</summary>
    public static readonly IReadOnlyList<string> RouteGroups = [Predict, .. Proxied.Select(route => route.RouteId), Grpc];

    public static ProxyRoute? Find(string routeId)
    {
        foreach (var route in Proxied)
        {
            if (route.RouteId == routeId)
            {
                return route;
            }
        }

        return null;
    }
}

/// <summary>One path route: its YARP route and cluster are both named after the service, and so is its route group.</summary>
public sealed record ProxyRoute(string Service, string Prefix, bool KeepPrefix)
{
    public string RouteId => Service;

    public string ClusterId => Service;

    /// <summary>The path the service receives for a request path this route matched.</summary>
    public string ForwardedPath(PathString requestPath) =>
        KeepPrefix || !requestPath.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase, out var rest)
            ? requestPath.Value ?? "/"
            : rest.Value is { Length: > 0 } value ? value : "/";
}
