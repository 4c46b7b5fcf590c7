using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Transforms;

/// <summary>The request transformation of each route group, from <c>Gateway:RouteGroups:{group}:Request</c>.</summary>
public sealed class RouteGroupTransformOptions
{
    public const string SectionName = "Gateway:RouteGroups";

    public Dictionary<string, RouteGroupTransform> Groups { get; } = new(StringComparer.OrdinalIgnoreCase);

    public RequestTransformOptions? For(string routeGroup) => RouteGroup.TryGetSetting(Groups, routeGroup, out var group) ? group.Request : null;
}

/// <summary>One route group's request transformation; the group's <c>Timeout</c> belongs to the route group timeouts.</summary>
public sealed class RouteGroupTransform
{
    public RequestTransformOptions Request { get; set; } = new();
}

/// <summary>
/// Request header changes per route group after Kong's request-transformer plugin
/// (https://docs.konghq.com/hub/kong-inc/request-transformer/), applied in its order: remove, rename, add.
/// </summary>
public sealed class RequestTransformOptions
{
    public List<string> Remove { get; set; } = [];

    /// <summary>Old name to new name; the value is kept.</summary>
    public Dictionary<string, string> Rename { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Name to value, set only when the request lacks the header (Kong's <c>add</c>).</summary>
    public Dictionary<string, string> Add { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
