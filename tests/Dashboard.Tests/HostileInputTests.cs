using System.Diagnostics;
using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Collector.Trace.V1;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Metrics.V1;
using Opentelemetry.Proto.Trace.V1;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

/// <summary>
/// Exports shaped to make the stores do quadratic work or hold unbounded memory. Each finishes
/// in milliseconds; the time bound is loose (a busy machine) but far below what quadratic work takes.
/// </summary>
public class HostileInputTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static TelemetryStore NewStore(Action<TelemetryLimits>? change = null) => new(Limits(change), new ManualTime(T0.AddSeconds(30)));

    [Fact]
    public void LogBody_OfUnclosedBraces_IsFilledInOnePass()
    {
        var store = NewStore(l => l.MaxValueLength = 1_000_000);
        var body = string.Concat(Enumerable.Repeat("{a ", 300_000)) + "}";
        var watch = Stopwatch.StartNew();

        store.AddLogs(Logs("svc", null, "Cat", Log(body, 9, 0, Attribute("b", "x"))));

        Assert.True(watch.Elapsed < Bound, $"{watch.Elapsed}");
        Assert.Equal(body, Assert.Single(store.QueryLogs(new LogQuery())).Message);
    }

    [Fact]
    public void MetricPoint_WithAHundredThousandAttributes_IsSortedQuickly()
    {
        var store = NewStore();
        var point = Number(0, 1);
        for (var i = 100_000; i > 0; i--)
        {
            point.Attributes.Add(Attribute($"k{i}", i));
        }

        var watch = Stopwatch.StartNew();
        store.AddMetrics(Metrics("svc", "svc-1", "m", Gauge("g", point)));

        Assert.True(watch.Elapsed < Bound, $"{watch.Elapsed}");
        Assert.Equal(1, store.GetCounts().MetricPoints);
    }

    [Fact]
    public void Trace_FromFiftyThousandServices_IsSummarizedQuickly()
    {
        var store = NewStore();
        var request = new ExportTraceServiceRequest();
        for (var i = 1; i <= 50_000; i++)
        {
            request.ResourceSpans.Add(Traces($"svc{i}", null, Span(1, i, i == 1 ? 0 : 1, "s", 0, 1)).ResourceSpans[0]);
        }

        var watch = Stopwatch.StartNew();
        store.AddTraces(request);
        var summary = Assert.Single(store.QueryTraces(new TraceQuery()));

        Assert.True(watch.Elapsed < Bound, $"{watch.Elapsed}");
        Assert.Equal(50_000, summary.Services.Count);
    }

    [Fact]
    public void Histogram_WithThousandsOfBuckets_IsIgnored()
    {
        var store = NewStore();
        var bounds = Enumerable.Range(1, 5_000).Select(i => (double)i).ToArray();

        store.AddMetrics(Metrics("svc", "svc-1", "m", Histogram("h", AggregationTemporality.Cumulative, HistogramPoint(0, bounds, new ulong[5_001]))));

        Assert.Equal(0, store.GetCounts().MetricPoints);
    }

    [Fact]
    public void Span_WithThousandsOfEvents_KeepsTheFirstOnes()
    {
        var store = NewStore();
        var span = Span(1, 1, 0, "s", 0, 1);
        for (var i = 0; i < 5_000; i++)
        {
            span.Events.Add(new Span.Types.Event { Name = $"e{i}", TimeUnixNano = Nanos(0.5) });
        }

        store.AddTraces(Traces("svc", null, span));

        var events = Assert.Single(store.GetTrace(TraceHex(1))!.Spans).Events;
        Assert.Equal(128, events.Count);
        Assert.Equal("e0", events[0].Name);
    }

    [Fact]
    public void Names_LongerThanTheValueLimit_AreCut()
    {
        var store = NewStore(l => l.MaxValueLength = 16);
        var longName = new string('n', 10_000);
        var traces = Traces(longName, longName, Span(1, 1, 0, longName, 0, 1));
        traces.ResourceSpans[0].ScopeSpans[0].Scope = new InstrumentationScope { Name = longName };
        store.AddTraces(traces);
        store.AddLogs(Logs("svc", null, longName, Log("m")));
        store.AddMetrics(new Opentelemetry.Proto.Collector.Metrics.V1.ExportMetricsServiceRequest
        {
            ResourceMetrics = { Metrics("svc", null, longName, Gauge(longName, Number(0, 1))).ResourceMetrics },
        });

        var span = Assert.Single(store.GetTrace(TraceHex(1))!.Spans);
        Assert.Equal(16, span.Name.Length);
        Assert.Equal(16, span.Scope.Length);
        Assert.Equal(16, Assert.Single(store.QueryLogs(new LogQuery()))!.Category!.Length);
        var instrument = Assert.Single(store.GetInstruments("svc"));
        Assert.Equal(16, instrument.Meter.Length);
        Assert.Equal(16, instrument.Name.Length);
    }
}
