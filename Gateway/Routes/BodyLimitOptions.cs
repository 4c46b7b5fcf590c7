using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Gateway.Routes;

/// <summary>How large a request body each route group accepts, from the <c>Gateway</c> configuration section; larger ones get 413.</summary>
public sealed class BodyLimitOptions
{
    public const string SectionName = "Gateway";

    /// <summary>The largest body limit that can be set: the predict endpoint holds its body in one array.</summary>
    public const long MaxBodyLimit = int.MaxValue - 1;

    /// <summary>The limit of a route group that <see cref="RouteMaxRequestBodyBytes"/> does not name.</summary>
    [Range(1, MaxBodyLimit)]
    public long MaxRequestBodyBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// Per route group limits that replace <see cref="MaxRequestBodyBytes"/>, keyed by group:
    /// <c>predict</c>, <c>inference</c> (<c>/v2</c>), <c>preprocessing</c>, <c>postprocessing</c>, <c>grpc</c>.
    /// </summary>
    public Dictionary<string, long> RouteMaxRequestBodyBytes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The body limit of a route group.</summary>
    public long MaxRequestBodyBytesFor(string routeGroup) =>
        RouteGroup.TryGetSetting(RouteMaxRequestBodyBytes, routeGroup, out var limit) ? limit : MaxRequestBodyBytes;
}
