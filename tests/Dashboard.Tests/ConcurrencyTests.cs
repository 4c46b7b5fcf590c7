using MlPlatform.Dashboard.Telemetry;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

public class ConcurrencyTests
{
    [Fact]
    public async Task ExportsAndQueries_InParallel_KeepEveryCapAndCountEverySpan()
    {
        const int Writers = 4;
        const int ExportsPerWriter = 200;
        const int SpansPerExport = 10;
        var store = new TelemetryStore(Limits(l =>
        {
            l.MaxSpans = 1_000;
            l.MaxLogEntries = 500;
            l.MaxPointsPerStream = 50;
        }), new ManualTime(T0.AddSeconds(10_000)));
        using var stop = new CancellationTokenSource();

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            for (var e = 0; e < ExportsPerWriter; e++)
            {
                var trace = (w * ExportsPerWriter) + e + 1;
                var spans = Enumerable.Range(1, SpansPerExport).Select(s => Span(trace, s, s - 1, $"span {s}", e + (s * 0.01), e + 1)).ToArray();
                store.AddTraces(Traces($"svc{w}", $"svc{w}-1", spans));
                store.AddLogs(Logs($"svc{w}", $"svc{w}-1", "Cat", Log($"log {e}", 9 + (e % 12), e)));
                store.AddMetrics(Metrics($"svc{w}", $"svc{w}-1", "m",
                    Counter("c", Number(e, e * 10, attributes: Attribute("k", e % 3))),
                    Histogram("h", Opentelemetry.Proto.Metrics.V1.AggregationTemporality.Cumulative, HistogramPoint(e, [1, 2], [(ulong)e, (ulong)e, 1]))));
            }
        })).ToArray();

        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var reads = 0;
            // At least a few reads each, even if the writers finish before this reader starts.
            while (!stop.IsCancellationRequested || reads < 20)
            {
                foreach (var summary in store.QueryTraces(new TraceQuery(Text: "span", Limit: 50)))
                {
                    store.GetTrace(summary.TraceId);
                }

                store.QueryLogs(new LogQuery(MinimumLevel: LogLevelName.Warning, Limit: 100));
                store.GetInstruments(null);
                store.GetChart($"svc{r}", "m", "c", TimeSpan.FromHours(5));
                store.GetChart($"svc{r}", "m", "h", TimeSpan.FromHours(5));
                Assert.True(store.GetCounts().Spans <= 1_000);
                reads++;
            }

            return reads;
        })).ToArray();

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        var reads = await Task.WhenAll(readers);

        var counts = store.GetCounts();
        Assert.Equal(1_000, counts.Spans);
        Assert.Equal(Writers * ExportsPerWriter * SpansPerExport, counts.Spans + counts.DroppedSpans);
        Assert.Equal(100, counts.Traces);
        Assert.Equal(500, counts.Logs);
        Assert.Equal(Writers * ExportsPerWriter, counts.Logs + counts.DroppedLogs);
        Assert.Equal(Writers * ExportsPerWriter * 2, counts.MetricPoints + counts.DroppedMetricPoints);
        Assert.All(reads, r => Assert.True(r > 0));
        Assert.All(store.QueryTraces(new TraceQuery(Limit: 1000)), t => Assert.Equal(SpansPerExport, t.SpanCount));
    }
}
