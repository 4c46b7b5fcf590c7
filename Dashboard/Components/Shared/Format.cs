using System.Globalization;

namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>How the pages write times, durations and measurements: short, and the same everywhere.</summary>
public static class Format
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Time of day with milliseconds, in the machine's zone: the dashboard and the processes share one machine.</summary>
    public static string Time(DateTimeOffset timestamp) => timestamp.ToLocalTime().ToString("HH:mm:ss.fff", Invariant);

    public static string DateTime(DateTimeOffset timestamp) => timestamp.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss.fff", Invariant);

    public static string Duration(TimeSpan duration)
    {
        var ms = duration.TotalMilliseconds;
        return ms switch
        {
            < 0 => "-" + Duration(-duration),
            < 1 => ms.ToString("0.###", Invariant) + " ms",
            < 10 => ms.ToString("0.##", Invariant) + " ms",
            < 1000 => ms.ToString("0.#", Invariant) + " ms",
            < 60_000 => (ms / 1000).ToString("0.###", Invariant) + " s",
            _ => $"{(int)duration.TotalMinutes}m {duration.Seconds:00}s",
        };
    }

    /// <summary>A measurement with its unit, UCUM-style as instruments declare it (<c>s</c>, <c>ms</c>, <c>By</c>, <c>{request}</c>, <c>{request}/s</c>).</summary>
    public static string Measurement(double value, string unit)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return "–";
        }

        switch (unit)
        {
            case "s":
                return Duration(TimeSpan.FromSeconds(value));
            case "ms":
                return Duration(TimeSpan.FromMilliseconds(value));
            case "By":
                return Bytes(value);
        }

        var text = Number(value);
        var label = UnitLabel(unit);
        return label.Length == 0 ? text : label.StartsWith('/') ? text + label : $"{text} {label}";
    }

    /// <summary>A unit for people: <c>{request}/s</c> becomes <c>requests/s</c>, annotations lose their braces.</summary>
    public static string UnitLabel(string unit)
    {
        if (string.IsNullOrEmpty(unit) || unit == "1")
        {
            return "";
        }

        var label = unit.Replace("{", "", StringComparison.Ordinal).Replace("}", "s", StringComparison.Ordinal);
        return label == "s/s" ? "/s" : label;
    }

    public static string Number(double value)
    {
        var magnitude = Math.Abs(value);
        return magnitude switch
        {
            0 => "0",
            >= 1e9 => (value / 1e9).ToString("0.##", Invariant) + "G",
            >= 1e6 => (value / 1e6).ToString("0.##", Invariant) + "M",
            >= 1e4 => (value / 1e3).ToString("0.#", Invariant) + "k",
            >= 100 => value.ToString("0", Invariant),
            >= 1 => value.ToString("0.##", Invariant),
            >= 0.001 => value.ToString("0.####", Invariant),
            _ => value.ToString("0.##E+0", Invariant),
        };
    }

    private static string Bytes(double value) => Math.Abs(value) switch
    {
        >= 1 << 30 => (value / (1 << 30)).ToString("0.##", Invariant) + " GiB",
        >= 1 << 20 => (value / (1 << 20)).ToString("0.##", Invariant) + " MiB",
        >= 1 << 10 => (value / (1 << 10)).ToString("0.#", Invariant) + " KiB",
        _ => value.ToString("0", Invariant) + " B",
    };

    /// <summary>A long id cut to its first characters, as Aspire shows span and trace ids.</summary>
    public static string ShortId(string id, int length = 7) => id.Length <= length ? id : id[..length];
}
