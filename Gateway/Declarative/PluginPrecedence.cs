namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// Which configuration of each plugin applies to a request, as Kong's plugins iterator picks it (lookup_cfg in
/// kong/runloop/plugins_iterator.lua): among the enabled instances whose every bound entity is the request's, the most
/// specific one, in this order.
/// </summary>
public static class PluginPrecedence
{
    /// <summary>The scopes from the most specific to global: which of service, route and consumer a plugin is bound to.</summary>
    public static readonly IReadOnlyList<(bool Consumer, bool Route, bool Service)> Order =
    [
        (true, true, true),
        (true, true, false),
        (true, false, true),
        (false, true, true),
        (true, false, false),
        (false, true, false),
        (false, false, true),
        (false, false, false),
    ];

    /// <summary>
    /// The effective instance of each plugin, by plugin name, for a request matched to <paramref name="service"/> and
    /// <paramref name="route"/> and identified as <paramref name="consumer"/>, each null when there is none. A disabled
    /// instance is not there at all, so it hides no less specific one (Kong leaves disabled plugins out of the iterator).
    /// </summary>
    public static IReadOnlyDictionary<string, PluginEntity> Effective(
        DeclarativeConfig config,
        ServiceEntity? service,
        RouteEntity? route,
        ConsumerEntity? consumer)
    {
        var best = new Dictionary<string, (PluginEntity Plugin, int Rank)>(StringComparer.Ordinal);
        foreach (var plugin in config.Plugins)
        {
            if (!plugin.Enabled
                || !Matches(plugin.ServiceKey, service?.Key)
                || !Matches(plugin.RouteKey, route?.Key)
                || !Matches(plugin.ConsumerKey, consumer?.Key))
            {
                continue;
            }

            var rank = Rank(plugin);
            if (!best.TryGetValue(plugin.Name, out var current) || rank < current.Rank)
            {
                best[plugin.Name] = (plugin, rank);
            }
        }

        return best.ToDictionary(entry => entry.Key, entry => entry.Value.Plugin, StringComparer.Ordinal);
    }

    /// <summary>The place of the plugin's scope in <see cref="Order"/>, 0 being the most specific.</summary>
    public static int Rank(PluginEntity plugin)
    {
        var scope = (plugin.ConsumerKey is not null, plugin.RouteKey is not null, plugin.ServiceKey is not null);
        for (var i = 0; i < Order.Count; i++)
        {
            if (Order[i] == scope)
            {
                return i;
            }
        }

        throw new InvalidOperationException("Every combination of three scopes is in the order.");
    }

    // An unbound scope matches any request; a bound one only the request's own entity.
    private static bool Matches(string? bound, string? matched) => bound is null || string.Equals(bound, matched, StringComparison.Ordinal);
}
