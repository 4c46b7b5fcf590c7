using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.KeyAuth;

/// <summary>
/// Key authentication after Kong's key-auth plugin (https://docs.konghq.com/hub/kong-inc/key-auth/), from
/// <c>Gateway:KeyAuth</c>: consumers with hashed keys, looked for under <see cref="KeyNames"/> in headers and the query.
/// </summary>
public sealed class KeyAuthOptions
{
    public const string SectionName = "Gateway:KeyAuth";

    /// <summary>Header and query parameter names a key may come in (Kong's <c>key_names</c>).</summary>
    public List<string> KeyNames { get; set; } = [];

    public bool KeyInHeader { get; set; } = true;

    public bool KeyInQuery { get; set; } = true;

    /// <summary>Whether each route group asks for a key; a group not named here does (Kong's plugin on every route).</summary>
    public Dictionary<string, bool> RouteGroups { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Consumers by id; the id goes upstream as <c>X-Consumer-ID</c>.</summary>
    public Dictionary<string, ConsumerOptions> Consumers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The key names in effect: <c>apikey</c> unless configured (a bound list appends to, never replaces, a default).</summary>
    public IReadOnlyList<string> EffectiveKeyNames => KeyNames.Count > 0 ? KeyNames : ["apikey"];

    public bool IsEnabledFor(string routeGroup) => !RouteGroup.TryGetSetting(RouteGroups, routeGroup, out var enabled) || enabled;
}

/// <summary>One consumer: a name for upstream services and the SHA-256 (hex) of each of its keys; never a key itself.</summary>
public sealed class ConsumerOptions
{
    public string? Username { get; set; }

    public List<string> KeyHashes { get; set; } = [];
}
