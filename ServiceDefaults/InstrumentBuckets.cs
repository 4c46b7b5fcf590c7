using System.Diagnostics.Metrics;

namespace MlPlatform.ServiceDefaults;

/// <summary>
/// Histogram boundaries every service uses, so the same quantity is bucketed alike everywhere and
/// can be compared across services. The SDK's defaults (0, 5, 10 ... 10000) suit neither.
/// </summary>
public static class InstrumentBuckets
{
    /// <summary>Durations in seconds, from 100 µs (a cached hop) to 30 s (a hop timeout).</summary>
    public static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    /// <summary>Items in one batch: batch sizes, instances, rows.</summary>
    public static readonly InstrumentAdvice<int> BatchItems = new() { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] };
}
