using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.RateLimiting;

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

    public RouteGroupRateLimitOptions? For(string routeGroup) => RouteGroup.TryGetSetting(RouteGroups, routeGroup, out var group) ? group : null;
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
