namespace MlPlatform.Dashboard.Telemetry;

/// <summary>
/// Turns raw points into chart lines, as <see cref="MetricChart"/> describes: counters as a rate
/// per second per instance, up-down counters and gauges as a value per instance (both summed over
/// attribute sets), histograms as p50, p90, p99 and a rate of recordings over all instances.
/// Called under the metric store's lock.
/// </summary>
internal static class MetricCharts
{
    public const string RateLabel = "rate/s";

    // Points of one instance closer than this are one sample: the .NET SDK stamps every point of
    // one collection with the same time, other SDKs nearly so.
    private const long SameTimeTicks = TimeSpan.TicksPerMillisecond * 10;

    private static readonly (double Quantile, string Label)[] Quantiles = [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")];

    public static MetricChart Build(InstrumentState state, string resource, long cutoff)
    {
        var lines = state.Kind switch
        {
            InstrumentKind.Counter => PerInstance(state, resource, cutoff, rates: true),
            InstrumentKind.Histogram => HistogramLines(state, resource, cutoff),
            _ => PerInstance(state, resource, cutoff, rates: false),
        };
        return new MetricChart(state.ToSummary(), lines);
    }

    private static List<MetricLine> PerInstance(InstrumentState state, string resource, long cutoff, bool rates)
    {
        var instances = new List<TelemetryResource>();
        foreach (var instance in state.Streams.Keys)
        {
            if (ResourceRegistry.Matches(instance, resource))
            {
                instances.Add(instance);
            }
        }

        instances.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        var lines = new List<MetricLine>(instances.Count);
        var samples = new List<(long Ticks, double Value)>();
        foreach (var instance in instances)
        {
            samples.Clear();
            foreach (var stream in state.Streams[instance].Values)
            {
                if (stream.Numbers is { } points)
                {
                    if (rates)
                    {
                        AddRates(points, stream.IsDelta, cutoff, samples);
                    }
                    else
                    {
                        AddValues(points, stream.IsDelta, cutoff, samples);
                    }
                }
            }

            if (samples.Count > 0)
            {
                lines.Add(rates
                    ? new MetricLine($"{instance.InstanceId} {RateLabel}", RateUnit(state.Unit), SumByTime(samples))
                    : new MetricLine(instance.InstanceId, state.Unit, SumByTime(samples)));
            }
        }

        return lines;
    }

    private static string RateUnit(string unit) => unit.Length == 0 ? "/s" : unit + "/s";

    /// <summary>
    /// Cumulative: the increase between consecutive points over the time between them. A value
    /// that went down, or a start time after the previous point, is a reset (the process
    /// restarted): the new value is the whole increase since its start. Delta: each value over its
    /// own interval.
    /// </summary>
    internal static void AddRates(BoundedQueue<NumberPoint> points, bool isDelta, long cutoff, List<(long Ticks, double Value)> samples)
    {
        for (var i = 0; i < points.Count; i++)
        {
            var current = points[i];
            if (current.Ticks < cutoff)
            {
                continue;
            }

            double increase;
            long interval;
            if (isDelta)
            {
                increase = current.Value;
                interval = current.StartTicks > 0 && current.StartTicks < current.Ticks ? current.Ticks - current.StartTicks
                    : i > 0 ? current.Ticks - points[i - 1].Ticks
                    : 0;
            }
            else
            {
                if (i == 0)
                {
                    continue;
                }

                var previous = points[i - 1];
                if (IsReset(previous.StartTicks, previous.Ticks, current.StartTicks) || current.Value < previous.Value)
                {
                    increase = current.Value;
                    interval = SinceReset(previous.Ticks, current.StartTicks, current.Ticks);
                }
                else
                {
                    increase = current.Value - previous.Value;
                    interval = current.Ticks - previous.Ticks;
                }
            }

            var rate = increase / interval * TimeSpan.TicksPerSecond;
            // A chart cannot draw NaN or infinity; an exporter can still send them.
            if (interval > 0 && double.IsFinite(rate))
            {
                samples.Add((current.Ticks, rate));
            }
        }
    }

    private static bool IsReset(long previousStart, long previousTicks, long currentStart) =>
        currentStart != previousStart && currentStart >= previousTicks && previousStart != 0;

    private static long SinceReset(long previousTicks, long currentStart, long currentTicks) =>
        currentStart >= previousTicks && currentStart < currentTicks ? currentTicks - currentStart : currentTicks - previousTicks;

    /// <summary>Gauges and cumulative sums as they are; delta up-down counters summed from the oldest point kept.</summary>
    private static void AddValues(BoundedQueue<NumberPoint> points, bool isDelta, long cutoff, List<(long Ticks, double Value)> samples)
    {
        var running = 0.0;
        for (var i = 0; i < points.Count; i++)
        {
            var point = points[i];
            if (!double.IsFinite(point.Value))
            {
                continue;
            }

            var value = isDelta ? running += point.Value : point.Value;
            if (point.Ticks >= cutoff)
            {
                samples.Add((point.Ticks, value));
            }
        }
    }

    /// <summary>Sorts by time and sums samples that are the same moment (within <see cref="SameTimeTicks"/>).</summary>
    private static List<MetricSample> SumByTime(List<(long Ticks, double Value)> samples)
    {
        samples.Sort(static (a, b) => a.Ticks.CompareTo(b.Ticks));
        var result = new List<MetricSample>(samples.Count);
        var i = 0;
        while (i < samples.Count)
        {
            var first = samples[i].Ticks;
            var sum = 0.0;
            while (i < samples.Count && samples[i].Ticks - first <= SameTimeTicks)
            {
                sum += samples[i].Value;
                i++;
            }

            result.Add(new MetricSample(Otlp.OtlpValues.ToTimestamp(first), sum));
        }

        return result;
    }

    /// <summary>The recordings of one stream between two points: bucket increases over the interval ending at <see cref="Ticks"/>.</summary>
    private readonly record struct Increase(int Stream, long Ticks, long Interval, ulong Count, double[] Bounds, ulong[] Buckets);

    private sealed class Bin(int bucketCount)
    {
        public long Ticks = long.MinValue;
        public double Rate;
        public double[] Buckets { get; } = new double[bucketCount];
    }

    /// <summary>
    /// Bucket increases of every matching stream, resampled into bins one export interval wide (the
    /// median interval): each increase is spread over the bins its interval overlaps, in
    /// proportion to the overlap, so instances that export at different moments, and exports that
    /// drift across bin edges, still add up to a steady line. Quantiles come from the summed
    /// buckets; the rate is each stream's recordings in the bin over the time it covered there, summed.
    /// </summary>
    private static List<MetricLine> HistogramLines(InstrumentState state, string resource, long cutoff)
    {
        var increases = new List<Increase>();
        var streamIndex = 0;
        foreach (var (instance, streams) in state.Streams)
        {
            if (!ResourceRegistry.Matches(instance, resource))
            {
                continue;
            }

            foreach (var stream in streams.Values)
            {
                if (stream.Histograms is { } points)
                {
                    AddIncreases(points, stream.IsDelta, cutoff, streamIndex++, increases);
                }
            }
        }

        var quantileSamples = new List<MetricSample>[Quantiles.Length];
        for (var q = 0; q < Quantiles.Length; q++)
        {
            quantileSamples[q] = [];
        }

        var rateSamples = new List<MetricSample>();
        if (increases.Count > 0)
        {
            Summarize(increases, cutoff, quantileSamples, rateSamples);
        }

        var lines = new List<MetricLine>(Quantiles.Length + 1);
        for (var q = 0; q < Quantiles.Length; q++)
        {
            lines.Add(new MetricLine(Quantiles[q].Label, state.Unit, quantileSamples[q]));
        }

        lines.Add(new MetricLine(RateLabel, "/s", rateSamples));
        return lines;
    }

    private static void AddIncreases(BoundedQueue<HistogramPoint> points, bool isDelta, long cutoff, int stream, List<Increase> increases)
    {
        for (var i = 0; i < points.Count; i++)
        {
            var current = points[i];
            if (current.Ticks < cutoff)
            {
                continue;
            }

            if (isDelta)
            {
                var interval = current.StartTicks > 0 && current.StartTicks < current.Ticks ? current.Ticks - current.StartTicks
                    : i > 0 ? current.Ticks - points[i - 1].Ticks
                    : 0;
                if (interval > 0)
                {
                    increases.Add(new Increase(stream, current.Ticks, interval, current.Count, current.Bounds, current.Buckets));
                }

                continue;
            }

            if (i == 0)
            {
                continue;
            }

            var previous = points[i - 1];
            if (IsReset(previous.StartTicks, previous.Ticks, current.StartTicks) || current.Count < previous.Count || AnyBucketFell(previous, current))
            {
                increases.Add(new Increase(stream, current.Ticks, SinceReset(previous.Ticks, current.StartTicks, current.Ticks), current.Count, current.Bounds, current.Buckets));
                continue;
            }

            // Different bounds without a reset cannot be subtracted; that interval is skipped.
            if (!ReferenceEquals(previous.Bounds, current.Bounds) && !previous.Bounds.AsSpan().SequenceEqual(current.Bounds))
            {
                continue;
            }

            var buckets = new ulong[current.Buckets.Length];
            for (var b = 0; b < buckets.Length; b++)
            {
                buckets[b] = current.Buckets[b] - previous.Buckets[b];
            }

            increases.Add(new Increase(stream, current.Ticks, current.Ticks - previous.Ticks, current.Count - previous.Count, current.Bounds, buckets));
        }
    }

    private static bool AnyBucketFell(HistogramPoint previous, HistogramPoint current)
    {
        if (previous.Buckets.Length != current.Buckets.Length)
        {
            return false;
        }

        for (var b = 0; b < current.Buckets.Length; b++)
        {
            if (current.Buckets[b] < previous.Buckets[b])
            {
                return true;
            }
        }

        return false;
    }

    private static void Summarize(List<Increase> increases, long cutoff, List<MetricSample>[] quantileSamples, List<MetricSample> rateSamples)
    {
        // Quantiles need one set of bounds: the newest increase's. Streams with other bounds still count in the rate.
        var reference = increases[0];
        long earliest = long.MaxValue, latest = long.MinValue;
        foreach (var increase in increases)
        {
            reference = increase.Ticks > reference.Ticks ? increase : reference;
            earliest = Math.Min(earliest, Math.Max(cutoff, increase.Ticks - increase.Interval));
            latest = Math.Max(latest, increase.Ticks);
        }

        // At most about 2,000 bins, whatever the window and the export interval.
        var step = Math.Max(MedianInterval(increases), (latest - earliest) / 2_000);

        // The newest bin is shown once every stream still exporting has reached it; before that
        // it would show only the instances that happened to export first.
        var watermark = long.MaxValue;
        var bins = new SortedDictionary<long, Bin>();
        var covered = new Dictionary<long, (double Count, long Time)>();
        var i = 0;
        while (i < increases.Count)
        {
            var stream = increases[i].Stream;
            var streamLatest = long.MinValue;
            covered.Clear();
            for (; i < increases.Count && increases[i].Stream == stream; i++)
            {
                var increase = increases[i];
                streamLatest = Math.Max(streamLatest, increase.Ticks);
                var sameBounds = increase.Buckets.Length == reference.Buckets.Length
                    && (ReferenceEquals(increase.Bounds, reference.Bounds) || increase.Bounds.AsSpan().SequenceEqual(reference.Bounds));
                var start = Math.Max(cutoff, increase.Ticks - increase.Interval);
                for (var index = BinIndex(start, step); index <= BinIndex(increase.Ticks - 1, step); index++)
                {
                    var binStart = index * step;
                    var overlap = Math.Min(increase.Ticks, binStart + step) - Math.Max(start, binStart);
                    if (overlap <= 0)
                    {
                        continue;
                    }

                    if (!bins.TryGetValue(index, out var bin))
                    {
                        bins[index] = bin = new Bin(reference.Buckets.Length);
                    }

                    var share = (double)overlap / increase.Interval;
                    covered[index] = covered.TryGetValue(index, out var sofar)
                        ? (sofar.Count + (increase.Count * share), sofar.Time + overlap)
                        : (increase.Count * share, overlap);
                    bin.Ticks = Math.Max(bin.Ticks, Math.Min(increase.Ticks, binStart + step));
                    if (sameBounds)
                    {
                        for (var b = 0; b < bin.Buckets.Length; b++)
                        {
                            bin.Buckets[b] += increase.Buckets[b] * share;
                        }
                    }
                }
            }

            foreach (var (index, (count, time)) in covered)
            {
                bins[index].Rate += count / time * TimeSpan.TicksPerSecond;
            }

            // A stream that stopped two intervals before the newest data (a replica that died) no longer holds the chart back.
            if (streamLatest >= latest - (2 * step))
            {
                watermark = Math.Min(watermark, streamLatest);
            }
        }

        foreach (var (index, bin) in bins)
        {
            if (index * step >= watermark)
            {
                break;
            }

            var timestamp = Otlp.OtlpValues.ToTimestamp(bin.Ticks);
            rateSamples.Add(new MetricSample(timestamp, bin.Rate));
            for (var q = 0; q < Quantiles.Length; q++)
            {
                var value = Quantile(Quantiles[q].Quantile, reference.Bounds, bin.Buckets);
                if (double.IsFinite(value))
                {
                    quantileSamples[q].Add(new MetricSample(timestamp, value));
                }
            }
        }
    }

    private static long BinIndex(long ticks, long step) => ticks >= 0 ? ticks / step : ((ticks + 1) / step) - 1;

    private static long MedianInterval(List<Increase> increases)
    {
        var intervals = new long[increases.Count];
        for (var i = 0; i < intervals.Length; i++)
        {
            intervals[i] = increases[i].Interval;
        }

        Array.Sort(intervals);
        return Math.Max(TimeSpan.TicksPerMillisecond, intervals[intervals.Length / 2]);
    }

    /// <summary>
    /// The <paramref name="quantile"/> of recordings counted in explicit buckets, as Prometheus'
    /// histogram_quantile computes it: find the bucket holding the rank, interpolate linearly
    /// between its bounds. The first bucket starts at 0 (when its bound is positive); a rank in
    /// the overflow bucket answers the highest bound. NaN when there are no recordings or no bounds.
    /// </summary>
    internal static double Quantile(double quantile, double[] bounds, double[] buckets)
    {
        var total = 0.0;
        foreach (var count in buckets)
        {
            total += count;
        }

        if (total <= 0 || bounds.Length == 0 || buckets.Length != bounds.Length + 1)
        {
            return double.NaN;
        }

        var rank = quantile * total;
        var below = 0.0;
        for (var b = 0; b < buckets.Length; b++)
        {
            var count = buckets[b];
            if (count > 0 && below + count >= rank)
            {
                if (b == bounds.Length)
                {
                    return bounds[^1];
                }

                var upper = bounds[b];
                if (b == 0 && upper <= 0)
                {
                    return upper;
                }

                var lower = b == 0 ? 0 : bounds[b - 1];
                return lower + ((upper - lower) * (rank - below) / count);
            }

            below += count;
        }

        return bounds[^1];
    }
}
