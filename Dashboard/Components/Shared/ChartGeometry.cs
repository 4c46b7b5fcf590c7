using System.Globalization;
using System.Text;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>Maps samples onto a chart's plot area: time to x over the window, value to y between the axis bounds.</summary>
public sealed class ChartGeometry
{
    public const double Width = 720;
    public const double Height = 220;
    public const double Left = 78;
    public const double Right = 12;
    public const double Top = 12;
    public const double Bottom = 26;

    private readonly DateTimeOffset _from;
    private readonly double _windowTicks;

    public ChartGeometry(IReadOnlyList<MetricLine> lines, DateTimeOffset from, DateTimeOffset to)
    {
        _from = from;
        _windowTicks = Math.Max((to - from).Ticks, 1);
        var values = lines.SelectMany(l => l.Samples).Select(s => s.Value).Where(double.IsFinite).ToList();
        // Zero stays on the axis for the counts, rates and durations charted here, so a flat line is not magnified into noise.
        Min = values.Count == 0 ? 0 : Math.Min(0, values.Min());
        Max = values.Count == 0 ? 1 : values.Max();
        if (Max <= Min)
        {
            Max = Min + (Min == 0 ? 1 : Math.Abs(Min));
        }
    }

    public double Min { get; }

    public double Max { get; }

    public static double PlotLeft => Left;

    public static double PlotRight => Width - Right;

    public static double PlotTop => Top;

    public static double PlotBottom => Height - Bottom;

    public double X(DateTimeOffset time) => PlotLeft + ((PlotRight - PlotLeft) * Math.Clamp((time - _from).Ticks / _windowTicks, 0, 1));

    public double Y(double value) => PlotBottom - ((PlotBottom - PlotTop) * (value - Min) / (Max - Min));

    /// <summary>The <c>points</c> attribute of a polyline; samples outside the window or not finite are left out.</summary>
    public string Points(MetricLine line)
    {
        var points = new StringBuilder();
        foreach (var sample in line.Samples)
        {
            if (!double.IsFinite(sample.Value) || sample.Timestamp < _from)
            {
                continue;
            }

            points.Append(CultureInfo.InvariantCulture, $"{X(sample.Timestamp):0.#},{Y(sample.Value):0.#} ");
        }

        return points.ToString().TrimEnd();
    }

    public static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}
