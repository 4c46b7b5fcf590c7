using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Metrics.V1;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

public class MetricStoreTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private readonly ManualTime _time = new(T0.AddSeconds(30));

    private TelemetryStore NewStore(Action<TelemetryLimits>? change = null) => new(Limits(change), _time);

    private static (DateTimeOffset, double)[] Samples(MetricLine line) => [.. line.Samples.Select(s => (s.Timestamp, Math.Round(s.Value, 6)))];

    [Fact]
    public void GetChart_CumulativeCounter_IsRatePerInstanceSummedOverAttributeSets()
    {
        var store = NewStore();
        // svc-1, route a: 100 -> 150 -> 250 (5/s, 10/s); route b: 0 -> 50 -> 70 (5/s, 2/s). Sum: 10/s, 12/s.
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("requests",
            Number(0, 100, attributes: Attribute("route", "a")), Number(0, 0, attributes: Attribute("route", "b")))));
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("requests",
            Number(10, 150, attributes: Attribute("route", "a")), Number(10, 50, attributes: Attribute("route", "b")))));
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("requests",
            Number(20, 250, attributes: Attribute("route", "a")), Number(20, 70, attributes: Attribute("route", "b")))));
        // svc-2 exports at other moments: 10 -> 30 over 10 s is 2/s.
        store.AddMetrics(Metrics("svc", "svc-2", "m", Counter("requests", Number(0.5, 10))));
        store.AddMetrics(Metrics("svc", "svc-2", "m", Counter("requests", Number(10.5, 30))));

        var chart = store.GetChart("svc", "m", "requests", Minute);

        Assert.NotNull(chart);
        Assert.Equal(new InstrumentSummary("svc", "m", "requests", "requests description", "{request}", InstrumentKind.Counter), chart.Instrument);
        Assert.Equal(["svc-1 rate/s", "svc-2 rate/s"], chart.Lines.Select(l => l.Label));
        Assert.All(chart.Lines, l => Assert.Equal("{request}/s", l.Unit));
        Assert.Equal([(T0.AddSeconds(10), 10.0), (T0.AddSeconds(20), 12.0)], Samples(chart.Lines[0]));
        Assert.Equal([(T0.AddSeconds(10.5), 2.0)], Samples(chart.Lines[1]));

        var one = store.GetChart("svc-2", "m", "requests", Minute);
        Assert.Equal(["svc-2 rate/s"], one!.Lines.Select(l => l.Label));
    }

    [Fact]
    public void GetChart_CounterReset_CountsTheNewValueSinceItsStart()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("c",
            Number(0, 100, startSeconds: -60),
            Number(10, 150, startSeconds: -60),   // 50 over 10 s: 5/s
            Number(20, 20, startSeconds: 15),     // restarted at 15 s: 20 over 5 s: 4/s
            Number(30, 40, startSeconds: 15),     // 20 over 10 s: 2/s
            Number(40, 10, startSeconds: 15))));  // went down without a new start: 10 over 10 s: 1/s

        var chart = store.GetChart("svc", "m", "c", Minute);

        Assert.Equal([(T0.AddSeconds(10), 5.0), (T0.AddSeconds(20), 4.0), (T0.AddSeconds(30), 2.0), (T0.AddSeconds(40), 1.0)], Samples(chart!.Lines[0]));
    }

    [Fact]
    public void GetChart_Window_KeepsSamplesInsideItButUsesThePointBefore()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("c", Number(0, 0), Number(10, 50), Number(20, 150), Number(30, 250))));
        _time.Now = T0.AddSeconds(45);

        var chart = store.GetChart("svc", "m", "c", TimeSpan.FromSeconds(30));

        // The cutoff is 15 s: the samples at 20 s and 30 s, the first computed from the point at 10 s.
        Assert.Equal([(T0.AddSeconds(20), 10.0), (T0.AddSeconds(30), 10.0)], Samples(chart!.Lines[0]));
    }

    [Fact]
    public void GetChart_DeltaCounter_IsEachValueOverItsInterval()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m", Sum("d", true, AggregationTemporality.Delta,
            Number(10, 50, startSeconds: 0), Number(20, 100, startSeconds: 10), Number(25, 10, startSeconds: 20))));

        var chart = store.GetChart("svc", "m", "d", Minute);

        Assert.Equal([(T0.AddSeconds(10), 5.0), (T0.AddSeconds(20), 10.0), (T0.AddSeconds(25), 2.0)], Samples(chart!.Lines[0]));
    }

    [Fact]
    public void GetChart_UpDownCounterAndGauge_AreValuesPerInstanceSummedOverAttributeSets()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m",
            Sum("queue", false, AggregationTemporality.Cumulative,
                Number(0, 3, attributes: Attribute("model", "a")), Number(0, 1, attributes: Attribute("model", "b"))),
            Gauge("memory", Number(0, 100, attributes: Attribute("kind", "heap")), Number(0, 20, attributes: Attribute("kind", "stack")))));
        store.AddMetrics(Metrics("svc", "svc-1", "m",
            Sum("queue", false, AggregationTemporality.Cumulative,
                Number(10, 5, attributes: Attribute("model", "a")), Number(10, 2, attributes: Attribute("model", "b"))),
            Gauge("memory", Number(10, 90, attributes: Attribute("kind", "heap")), Number(10, 25, attributes: Attribute("kind", "stack")))));
        store.AddMetrics(Metrics("svc", "svc-2", "m", Gauge("memory", Number(5, 7))));

        var queue = store.GetChart("svc", "m", "queue", Minute)!;
        var memory = store.GetChart("svc", "m", "memory", Minute)!;

        Assert.Equal(InstrumentKind.UpDownCounter, queue.Instrument.Kind);
        var line = Assert.Single(queue.Lines);
        Assert.Equal("svc-1", line.Label);
        Assert.Equal("{request}", line.Unit);
        Assert.Equal([(T0, 4.0), (T0.AddSeconds(10), 7.0)], Samples(line));
        Assert.Equal(InstrumentKind.Gauge, memory.Instrument.Kind);
        Assert.Equal(["svc-1", "svc-2"], memory.Lines.Select(l => l.Label));
        Assert.Equal([(T0, 120.0), (T0.AddSeconds(10), 115.0)], Samples(memory.Lines[0]));
        Assert.Equal([(T0.AddSeconds(5), 7.0)], Samples(memory.Lines[1]));
    }

    [Fact]
    public void GetChart_Histogram_QuantilesFromBucketIncreasesOverAllInstances()
    {
        var store = NewStore();
        double[] bounds = [1, 2, 4, 8];
        // svc-1 records [4, 12, 16, 6, 2] (40) between 0 s and 10 s; its second attribute set records nothing.
        store.AddMetrics(Metrics("svc", "svc-1", "m", Histogram("latency", AggregationTemporality.Cumulative,
            HistogramPoint(0, bounds, [0, 0, 0, 0, 0], attributes: Attribute("route", "a")),
            HistogramPoint(0, bounds, [1, 1, 1, 1, 1], attributes: Attribute("route", "b")))));
        store.AddMetrics(Metrics("svc", "svc-1", "m", Histogram("latency", AggregationTemporality.Cumulative,
            HistogramPoint(10, bounds, [4, 12, 16, 6, 2], attributes: Attribute("route", "a")),
            HistogramPoint(10, bounds, [1, 1, 1, 1, 1], attributes: Attribute("route", "b")))));
        // svc-2, 0.3 s later: [7, 19, 25, 10, 4] - [1, 1, 1, 1, 1] = [6, 18, 24, 9, 3] (60).
        store.AddMetrics(Metrics("svc", "svc-2", "m", Histogram("latency", AggregationTemporality.Cumulative, HistogramPoint(0.3, bounds, [1, 1, 1, 1, 1]))));
        store.AddMetrics(Metrics("svc", "svc-2", "m", Histogram("latency", AggregationTemporality.Cumulative, HistogramPoint(10.3, bounds, [7, 19, 25, 10, 4]))));

        var chart = store.GetChart("svc", "m", "latency", Minute)!;

        // Together [10, 30, 40, 15, 5], 100 recordings; running totals 10, 40, 80, 95, 100.
        // p50: rank 50 is in (2, 4]: 2 + 2 * (50 - 40) / 40 = 2.5.
        // p90: rank 90 is in (4, 8]: 4 + 4 * (90 - 80) / 15 = 6.666667.
        // p99: rank 99 is in the overflow bucket: the highest bound, 8.
        // rate: 40 / 10 s + 60 / 10 s = 10/s.
        // Bins are 10 s (the export interval): svc-2's interval (0.3 s, 10.3 s] lays 97 % in the first,
        // in the same proportions, so the figures hold; the second bin waits until svc-1 reaches it.
        var at = T0.AddSeconds(10);
        Assert.Equal(["p50", "p90", "p99", "rate/s"], chart.Lines.Select(l => l.Label));
        Assert.Equal(["s", "s", "s", "/s"], chart.Lines.Select(l => l.Unit));
        Assert.Equal([(at, 2.5)], Samples(chart.Lines[0]));
        Assert.Equal([(at, 6.666667)], Samples(chart.Lines[1]));
        Assert.Equal([(at, 8.0)], Samples(chart.Lines[2]));
        Assert.Equal([(at, 10.0)], Samples(chart.Lines[3]));

        // One instance alone: svc-2's [6, 18, 24, 9, 3]: p50 rank 30 in (2, 4]: 2 + 2 * (30 - 24) / 24 = 2.5; rate 6/s,
        // in both bins its interval overlaps (9.7 s of the first, 0.3 s of the second).
        var single = store.GetChart("svc-2", "m", "latency", Minute)!;
        Assert.Equal([(at, 2.5), (T0.AddSeconds(10.3), 2.5)], Samples(single.Lines[0]));
        Assert.Equal([(at, 6.0), (T0.AddSeconds(10.3), 6.0)], Samples(single.Lines[3]));
    }

    [Fact]
    public void GetChart_DeltaHistogram_UsesEachPointAsItIs()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m", Histogram("h", AggregationTemporality.Delta,
            HistogramPoint(10, [1, 2], [2, 2, 0], startSeconds: 0),
            HistogramPoint(20, [1, 2], [0, 0, 5], startSeconds: 10))));

        var chart = store.GetChart("svc", "m", "h", Minute)!;

        // First interval: rank 2 of 4 in [0, 1]: 0 + 1 * 2 / 2 = 1. Second: all in the overflow bucket: 2.
        Assert.Equal([(T0.AddSeconds(10), 1.0), (T0.AddSeconds(20), 2.0)], Samples(chart.Lines[0]));
        Assert.Equal([(T0.AddSeconds(10), 0.4), (T0.AddSeconds(20), 0.5)], Samples(chart.Lines[3]));
    }

    [Theory]
    [InlineData(0.5, 2.5)]
    [InlineData(0.9, 6.666667)]
    [InlineData(0.99, 8.0)]
    [InlineData(0.05, 0.5)]
    [InlineData(0.1, 1.0)]
    public void Quantile_InterpolatesLinearlyInsideTheBucket(double quantile, double expected)
    {
        Assert.Equal(expected, Math.Round(MetricCharts.Quantile(quantile, [1, 2, 4, 8], [10, 30, 40, 15, 5]), 6));
        // Spread over bins, counts become fractions; scaling them all changes nothing.
        Assert.Equal(expected, Math.Round(MetricCharts.Quantile(quantile, [1, 2, 4, 8], [0.1, 0.3, 0.4, 0.15, 0.05]), 6));
    }

    [Fact]
    public void Quantile_EdgeCases()
    {
        Assert.True(double.IsNaN(MetricCharts.Quantile(0.5, [1, 2], [0, 0, 0])));
        Assert.True(double.IsNaN(MetricCharts.Quantile(0.5, [], [7])));
        Assert.Equal(-1, MetricCharts.Quantile(0.5, [-1, 1], [5, 0, 0]));
        Assert.Equal(1.5, MetricCharts.Quantile(0.5, [1, 2], [0, 4, 0]));
    }

    [Fact]
    public void GetChart_HistogramExportsDriftingAcrossBinEdges_GiveASteadyRate()
    {
        var store = NewStore();
        // Two instances record 2,000 a second each; their exports, about 1 s apart, drift against
        // the 1 s bins (two in one bin, none in the next). Spread over the bins, the sum stays 4,000/s.
        double[] times = [0.9, 1.95, 2.98, 3.99, 5.05, 5.97, 6.96, 8.02, 9.0, 9.99];
        foreach (var (instance, offset) in new[] { ("svc-1", 0.0), ("svc-2", 0.45) })
        {
            var points = times.Select(t => HistogramPoint(t + offset, [1], [(ulong)Math.Round((t + offset) * 2_000), 0], startSeconds: 0)).ToArray();
            store.AddMetrics(Metrics("svc", instance, "m", Histogram("h", AggregationTemporality.Cumulative, points)));
        }

        var rate = store.GetChart("svc", "m", "h", Minute)!.Lines[3];

        // From 2 s on, both instances have reported for every bin.
        var steady = rate.Samples.Where(s => s.Timestamp >= T0.AddSeconds(2)).ToList();
        Assert.True(steady.Count >= 7, $"{steady.Count} samples");
        Assert.All(steady, s => Assert.InRange(s.Value, 3_990, 4_010));
    }

    [Fact]
    public void GetChart_NonFiniteValues_AreLeftOut()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m",
            Gauge("g", Number(0, double.NaN), Number(10, 3), Number(20, double.PositiveInfinity)),
            Counter("c", Number(0, 1), Number(10, double.PositiveInfinity), Number(20, 5))));

        Assert.Equal([(T0.AddSeconds(10), 3.0)], Samples(store.GetChart("svc", "m", "g", Minute)!.Lines[0]));
        Assert.All(store.GetChart("svc", "m", "c", Minute)!.Lines[0].Samples, s => Assert.True(double.IsFinite(s.Value)));
    }

    [Fact]
    public void AddMetrics_PastThePointCap_DropsTheOldestPointOfTheStream()
    {
        var store = NewStore(l => l.MaxPointsPerStream = 2);
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("c", Number(0, 0), Number(10, 10), Number(20, 30))));

        var counts = store.GetCounts();

        Assert.Equal(2, counts.MetricPoints);
        Assert.Equal(1, counts.DroppedMetricPoints);
        Assert.Equal([(T0.AddSeconds(20), 2.0)], Samples(store.GetChart("svc", "m", "c", Minute)!.Lines[0]));
    }

    [Fact]
    public void AddMetrics_PastTheStreamCap_IgnoresNewStreamsAndSaysSoOnce()
    {
        var store = NewStore(l => l.MaxMetricStreams = 2);
        var first = store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("c",
            Number(0, 1, attributes: Attribute("k", "a")), Number(0, 1, attributes: Attribute("k", "b")), Number(0, 1, attributes: Attribute("k", "c")))));
        var second = store.AddMetrics(Metrics("svc", "svc-2", "m", Counter("c", Number(1, 1))));

        Assert.True(first.StreamCapReached);
        Assert.False(second.StreamCapReached);
        Assert.Equal(2, first.Points);
        Assert.Equal(1, first.IgnoredPoints);
        Assert.Equal(new TelemetryCounts(0, 0, 0, 2, 0, 0, 2, 0), store.GetCounts());
    }

    [Fact]
    public void AddMetrics_SameAttributesInAnotherOrder_AreOneStream()
    {
        var store = NewStore(l => l.MaxMetricStreams = 1);
        store.AddMetrics(Metrics("svc", "svc-1", "m", Gauge("g", Number(0, 1, attributes: [Attribute("a", "1"), Attribute("b", 2)]))));
        store.AddMetrics(Metrics("svc", "svc-1", "m", Gauge("g", Number(10, 2, attributes: [Attribute("b", 2), Attribute("a", "1")]))));

        Assert.Equal(new TelemetryCounts(0, 0, 0, 2, 0, 0, 0, 0), store.GetCounts());
    }

    [Fact]
    public void AddMetrics_RepeatedOrOlderPoint_IsIgnored()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("c", Number(10, 10))));
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("c", Number(10, 10))));
        store.AddMetrics(Metrics("svc", "svc-1", "m", Counter("c", Number(5, 3))));

        Assert.Equal(1, store.GetCounts().MetricPoints);
    }

    [Fact]
    public void GetInstruments_ListsKindsByMeterThenName_FilteredByServiceOrInstance()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("inference", "inference-a", "MlPlatform.Inference",
            Histogram("batch.size", AggregationTemporality.Cumulative, HistogramPoint(0, [1], [1, 0])),
            Counter("requests", Number(0, 1))));
        store.AddMetrics(Metrics("inference", "inference-b", "Microsoft.AspNetCore.Hosting",
            Sum("active", false, AggregationTemporality.Cumulative, Number(0, 1))));
        store.AddMetrics(Metrics("gateway", "gateway-a", "Yarp", Gauge("ready", Number(0, 1))));

        var all = store.GetInstruments(null);
        var inference = store.GetInstruments("inference");
        var instanceB = store.GetInstruments("inference-b");

        Assert.Equal(["active", "batch.size", "requests", "ready"], all.Select(i => i.Name));
        Assert.Equal([InstrumentKind.UpDownCounter, InstrumentKind.Histogram, InstrumentKind.Counter], inference.Select(i => i.Kind));
        Assert.Equal(["active"], instanceB.Select(i => i.Name));
        Assert.Empty(store.GetInstruments("nobody"));
        Assert.Null(store.GetChart("inference", "MlPlatform.Inference", "nope", Minute));
        Assert.Null(store.GetChart("gateway", "MlPlatform.Inference", "requests", Minute));
        Assert.NotNull(store.GetChart("inference-a", "MlPlatform.Inference", "requests", Minute));
    }

    [Fact]
    public void AddMetrics_ExponentialHistogramOrSummary_IsNotChartedAndReportedOnce()
    {
        var store = NewStore();
        var exponential = new Metric { Name = "exp", ExponentialHistogram = new ExponentialHistogram() };
        exponential.ExponentialHistogram.DataPoints.Add(new ExponentialHistogramDataPoint { TimeUnixNano = Nanos(0), Count = 1 });
        var summary = new Metric { Name = "sum", Summary = new Summary() };

        var first = store.AddMetrics(Metrics("svc", "svc-1", "m", exponential, summary));
        var second = store.AddMetrics(Metrics("svc", "svc-1", "m", exponential, summary));

        Assert.Equal(2, first.UnsupportedInstruments.Count);
        Assert.Contains("svc/m/exp (ExponentialHistogram)", first.UnsupportedInstruments);
        Assert.Empty(second.UnsupportedInstruments);
        Assert.Empty(store.GetInstruments(null));
    }

    [Fact]
    public void AddMetrics_MalformedHistogramPoints_AreIgnored()
    {
        var store = NewStore();
        store.AddMetrics(Metrics("svc", "svc-1", "m", Histogram("h", AggregationTemporality.Cumulative,
            HistogramPoint(0, [1, 2], [1, 1]),          // one bucket too few
            HistogramPoint(1, [2, 1], [1, 1, 1]),       // bounds not ascending
            HistogramPoint(2, [double.NaN], [1, 1]))));

        Assert.Equal(0, store.GetCounts().MetricPoints);
    }
}
