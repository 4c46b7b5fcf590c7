using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace MlPlatform.Gateway.Policies;

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

    public bool IsEnabledFor(string routeGroup) => RouteGroupSwitch.IsOn(RouteGroups, routeGroup);
}

/// <summary>One consumer: a name for upstream services and the SHA-256 (hex) of each of its keys; never a key itself.</summary>
public sealed class ConsumerOptions
{
    public string? Username { get; set; }

    public List<string> KeyHashes { get; set; } = [];
}

/// <summary>Where rate-limit counters live (Kong's <c>policy</c>).</summary>
public enum RateLimitPolicy
{
    /// <summary>In this process: exact, but each replica counts on its own.</summary>
    Local,

    /// <summary>In Redis, one atomic script per request, shared by every replica.</summary>
    Redis,
}

/// <summary>Whose requests one counter counts (Kong's <c>limit_by</c>).</summary>
public enum RateLimitBy
{
    Consumer,
    Ip,
    Header,
    Path,
}

/// <summary>
/// Rate limiting after Kong's rate-limiting plugin (https://docs.konghq.com/hub/kong-inc/rate-limiting/), from
/// <c>Gateway:RateLimiting</c>. A null window has no limit; at least one must be set.
/// </summary>
public sealed class RateLimitingOptions
{
    public const string SectionName = "Gateway:RateLimiting";
    public const string ConnectionStringKey = "ConnectionStrings:redis";

    [Range(1, long.MaxValue)]
    public long? Second { get; set; }

    [Range(1, long.MaxValue)]
    public long? Minute { get; set; }

    [Range(1, long.MaxValue)]
    public long? Hour { get; set; }

    [Range(1, long.MaxValue)]
    public long? Day { get; set; }

    [Range(1, long.MaxValue)]
    public long? Month { get; set; }

    [Range(1, long.MaxValue)]
    public long? Year { get; set; }

    public RateLimitBy LimitBy { get; set; } = RateLimitBy.Consumer;

    /// <summary>The header whose value is counted when <see cref="LimitBy"/> is <c>header</c> (Kong's <c>header_name</c>).</summary>
    public string? HeaderName { get; set; }

    public RateLimitPolicy Policy { get; set; } = RateLimitPolicy.Local;

    /// <summary>When the counters cannot be reached: true lets the request through, false answers 503 (Kong's <c>fault_tolerant</c>).</summary>
    public bool FaultTolerant { get; set; } = true;

    /// <summary>The shortest time between two warnings that the counters cannot be reached.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan FaultWarningInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Adds <c>X-RateLimit-Window-Start-{Window}</c> (Unix seconds of the window that counted the request), for audits and tests.</summary>
    public bool ExposeWindowStart { get; set; }

    /// <summary>
    /// Whether each route group is rate limited, and any windows of its own; a group not named here is limited with
    /// the windows above. <c>RouteGroups:{group}=false</c> is short for <c>RouteGroups:{group}:Enabled=false</c>.
    /// </summary>
    public Dictionary<string, RouteGroupRateLimitOptions> RouteGroups { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary><c>ConnectionStrings:redis</c>, read beside the section.</summary>
    public string? RedisConnectionString { get; set; }

    public bool IsEnabledFor(string routeGroup) => For(routeGroup)?.Enabled ?? true;

    public RouteGroupRateLimitOptions? For(string routeGroup)
    {
        // Configuration keys ignore case; the dictionary the binder fills may not.
        foreach (var (group, options) in RouteGroups)
        {
            if (string.Equals(group, routeGroup, StringComparison.OrdinalIgnoreCase))
            {
                return options;
            }
        }

        return null;
    }
}

/// <summary>
/// One route group's rate limiting, as Kong's rate-limiting plugin configured on a route: windows set here replace
/// the global windows for the group, and the group is counted apart from the others. <c>LimitBy</c>, <c>Policy</c>
/// and <c>FaultTolerant</c> stay global. Bound from either a boolean (the switch alone) or a section.
/// </summary>
[TypeConverter(typeof(RouteGroupRateLimitConverter))]
public sealed class RouteGroupRateLimitOptions
{
    /// <summary>The setting names a group's section may hold; anything else is a typo, refused on start.</summary>
    public static readonly string[] Keys = ["Enabled", "Second", "Minute", "Hour", "Day", "Month", "Year"];

    public bool Enabled { get; set; } = true;

    public long? Second { get; set; }

    public long? Minute { get; set; }

    public long? Hour { get; set; }

    public long? Day { get; set; }

    public long? Month { get; set; }

    public long? Year { get; set; }

    public bool HasOwnWindows => Second is not null || Minute is not null || Hour is not null || Day is not null || Month is not null || Year is not null;
}

/// <summary>
/// Lets the binder read <c>RouteGroups:{group}=false</c>, the form before groups had windows of their own, into
/// <see cref="RouteGroupRateLimitOptions"/>. The binder drops a group whose value this cannot convert, so
/// <see cref="ValidateRateLimitingOptions"/> refuses such a value on start, naming its key.
/// </summary>
public sealed class RouteGroupRateLimitConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) => value is string text
        ? new RouteGroupRateLimitOptions { Enabled = bool.TryParse(text.Trim(), out var enabled) ? enabled : throw new FormatException($"'{text}' is neither true nor false.") }
        : base.ConvertFrom(context, culture, value);
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

/// <summary>The cross-origin policy, from <c>Gateway:Cors</c>; none when no origin is allowed.</summary>
public sealed class GatewayCorsOptions
{
    public const string SectionName = "Gateway:Cors";

    public List<string> AllowedOrigins { get; set; } = [];

    public List<string> AllowedMethods { get; set; } = [];

    public List<string> AllowedHeaders { get; set; } = [];

    public List<string> ExposedHeaders { get; set; } = [];

    public bool AllowCredentials { get; set; }

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>The request transformation of each route group, from <c>Gateway:RouteGroups:{group}:Request</c>.</summary>
public sealed class RouteGroupPolicyOptions
{
    public const string SectionName = "Gateway:RouteGroups";

    public Dictionary<string, RouteGroupOptions> Groups { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public RouteGroupOptions? For(string routeGroup)
    {
        foreach (var (group, options) in Groups)
        {
            if (string.Equals(group, routeGroup, StringComparison.OrdinalIgnoreCase))
            {
                return options;
            }
        }

        return null;
    }
}

/// <summary>One route group's request transformation; the group's <c>Timeout</c> belongs to the route group timeouts.</summary>
public sealed class RouteGroupOptions
{
    public RequestTransformOptions Request { get; set; } = new();
}

internal static class RouteGroupSwitch
{
    public static bool IsOn(Dictionary<string, bool> switches, string routeGroup)
    {
        // Configuration keys ignore case; the dictionary the binder fills may not.
        foreach (var (group, on) in switches)
        {
            if (string.Equals(group, routeGroup, StringComparison.OrdinalIgnoreCase))
            {
                return on;
            }
        }

        return true;
    }
}
