using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Timeouts;

/// <summary>
/// Each route group's request timeout, from <c>Gateway:RouteGroups:{group}:Timeout</c>: the longest a request may
/// take, start to end of the upstream's answer; past it the client gets 504. A group without one has none.
/// </summary>
public sealed class RouteGroupTimeoutOptions
{
    public const string SectionName = "Gateway:RouteGroups";

    public Dictionary<string, RouteGroupTimeout> Groups { get; } = new(StringComparer.OrdinalIgnoreCase);

    public TimeSpan? TimeoutOf(string routeGroup) => RouteGroup.TryGetSetting(Groups, routeGroup, out var group) ? group.Timeout : null;

    /// <summary>The request timeout policy of a route group, named after it; null when the group has no timeout.</summary>
    public string? PolicyFor(string routeGroup) => TimeoutOf(routeGroup) is null ? null : routeGroup;
}

/// <summary>One route group's timeout; the group's other keys (<c>Request</c>) belong to the request transformation.</summary>
public sealed class RouteGroupTimeout
{
    public TimeSpan? Timeout { get; set; }
}
