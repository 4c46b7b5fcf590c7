namespace MlPlatform.Gateway.Routes;

/// <summary>
/// Marks an endpoint as part of a route group, for API keys, rate limits and the other per group policies: the
/// predict endpoint and each proxied route carry one. The gateway's own endpoints (health, metrics, docs, the
/// development Try it page) carry none, and every policy passes them untouched.
/// </summary>
public sealed class RouteGroupMetadata(string name)
{
    public string Name { get; } = name;
}

public static class RouteGroup
{
    /// <summary>Puts the endpoints of <paramref name="builder"/> in <paramref name="group"/>.</summary>
    public static TBuilder WithRouteGroup<TBuilder>(this TBuilder builder, string group) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RouteGroupMetadata(group));

    /// <summary>The route group of the request's endpoint; null for the gateway's own endpoints.</summary>
    public static string? Of(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<RouteGroupMetadata>()?.Name;

    /// <summary>A group's entry in a per group setting; the binder fills such dictionaries without the case-insensitive comparer they were made with.</summary>
    public static bool TryGetSetting<T>(Dictionary<string, T> settings, string group, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T setting)
    {
        // Configuration keys ignore case; the dictionary the binder fills may not.
        foreach (var (name, value) in settings)
        {
            if (string.Equals(name, group, StringComparison.OrdinalIgnoreCase))
            {
                setting = value;
                return true;
            }
        }

        setting = default;
        return false;
    }

    /// <summary>Adds a problem naming <c>{section}:{group}</c> for each of <paramref name="groups"/> that is not a route group.</summary>
    public static void CheckNames(List<string> problems, string section, IEnumerable<string> groups)
    {
        foreach (var group in groups)
        {
            CheckName(problems, $"{section}:{group}", group);
        }
    }

    /// <summary>Adds a problem naming <paramref name="key"/> when <paramref name="group"/> is not a route group.</summary>
    public static void CheckName(List<string> problems, string key, string group)
    {
        if (!GatewayRoutes.RouteGroups.Contains(group, StringComparer.OrdinalIgnoreCase))
        {
            problems.Add($"{key}: '{group}' is not a route group; use one of {string.Join(", ", GatewayRoutes.RouteGroups)}.");
        }
    }
}
