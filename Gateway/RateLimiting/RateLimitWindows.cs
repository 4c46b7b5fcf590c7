namespace MlPlatform.Gateway.RateLimiting;

/// <summary>The periods Kong's rate-limiting plugin counts in, each a fixed window aligned to UTC.</summary>
public enum RateLimitPeriod
{
    Second,
    Minute,
    Hour,
    Day,
    Month,
    Year,
}

/// <summary>One configured window: its period, its limit and the names of its headers, computed once.</summary>
internal sealed class RateLimitWindow(RateLimitPeriod period, long limit)
{
    public RateLimitPeriod Period { get; } = period;

    public long Limit { get; } = limit;

    public string Name { get; } = period.ToString();

    public string LowerName { get; } = period.ToString().ToLowerInvariant();

    public string LimitHeader { get; } = "X-RateLimit-Limit-" + period;

    public string RemainingHeader { get; } = "X-RateLimit-Remaining-" + period;

    public string WindowStartHeader { get; } = "X-RateLimit-Window-Start-" + period;

    public string LimitText { get; } = limit.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The window holding <paramref name="now"/>: its start and end, in Unix seconds, UTC.</summary>
    public (long Start, long End) Bounds(DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds();
        switch (Period)
        {
            case RateLimitPeriod.Second:
                return (seconds, seconds + 1);
            case RateLimitPeriod.Minute:
                return Fixed(seconds, 60);
            case RateLimitPeriod.Hour:
                return Fixed(seconds, 3600);
            case RateLimitPeriod.Day:
                return Fixed(seconds, 86400);
            case RateLimitPeriod.Month:
            {
                var utc = now.UtcDateTime;
                var start = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
                return (start.ToUnixTimeSeconds(), start.AddMonths(1).ToUnixTimeSeconds());
            }

            default:
            {
                var start = new DateTimeOffset(now.UtcDateTime.Year, 1, 1, 0, 0, 0, TimeSpan.Zero);
                return (start.ToUnixTimeSeconds(), start.AddYears(1).ToUnixTimeSeconds());
            }
        }
    }

    private static (long, long) Fixed(long seconds, long length)
    {
        var start = seconds - (seconds % length);
        return (start, start + length);
    }
}

internal static class RateLimitWindows
{
    /// <summary>The configured windows, shortest first.</summary>
    public static RateLimitWindow[] From(RateLimitingOptions options) =>
        From(options.Second, options.Minute, options.Hour, options.Day, options.Month, options.Year);

    /// <summary>A route group's own windows, shortest first; empty when it has none and uses the global ones.</summary>
    public static RateLimitWindow[] From(RouteGroupRateLimitOptions options) =>
        From(options.Second, options.Minute, options.Hour, options.Day, options.Month, options.Year);

    private static RateLimitWindow[] From(long? second, long? minute, long? hour, long? day, long? month, long? year)
    {
        var windows = new List<RateLimitWindow>(6);
        Add(windows, RateLimitPeriod.Second, second);
        Add(windows, RateLimitPeriod.Minute, minute);
        Add(windows, RateLimitPeriod.Hour, hour);
        Add(windows, RateLimitPeriod.Day, day);
        Add(windows, RateLimitPeriod.Month, month);
        Add(windows, RateLimitPeriod.Year, year);
        return [.. windows];
    }

    private static void Add(List<RateLimitWindow> windows, RateLimitPeriod period, long? limit)
    {
        if (limit is { } value)
        {
            windows.Add(new RateLimitWindow(period, value));
        }
    }
}
