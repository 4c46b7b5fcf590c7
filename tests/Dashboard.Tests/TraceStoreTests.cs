using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Trace.V1;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

public class TraceStoreTests
{
    private static TelemetryStore NewStore(Action<TelemetryLimits>? change = null) => new(Limits(change), new ManualTime(T0));

    [Fact]
    public void AddTraces_SpansOfOneTrace_AreGroupedWithTheRootAsSummary()
    {
        var store = NewStore();
        store.AddTraces(Traces("inference", "inference-1", Span(1, 3, 2, "infer", 0.2, 0.7)));
        store.AddTraces(Traces("gateway", "gateway-1", Span(1, 1, 0, "POST /v1/models/mnist:predict", 0.0, 1.0), Span(1, 2, 1, "POST inference", 0.1, 0.8, Status.Types.StatusCode.Error)));

        var summary = Assert.Single(store.QueryTraces(new TraceQuery()));

        Assert.Equal(TraceHex(1), summary.TraceId);
        Assert.Equal("POST /v1/models/mnist:predict", summary.Name);
        Assert.Equal("gateway", summary.RootService);
        Assert.Equal(T0, summary.Start);
        Assert.Equal(TimeSpan.FromSeconds(1), summary.Duration);
        Assert.Equal(3, summary.SpanCount);
        Assert.Equal(["gateway", "inference"], summary.Services);
        Assert.True(summary.HasError);
    }

    [Fact]
    public void AddTraces_RootNotReceived_SummaryUsesTheEarliestSpanWhoseParentIsMissing()
    {
        var store = NewStore();
        // Span 9 (the real root) never arrives; 2 is the earliest span without its parent here.
        store.AddTraces(Traces("svc", null, Span(1, 3, 2, "grandchild", 0.3, 0.4), Span(1, 4, 9, "late orphan", 0.5, 0.6), Span(1, 2, 9, "child", 0.2, 0.9)));

        var summary = Assert.Single(store.QueryTraces(new TraceQuery()));

        Assert.Equal("child", summary.Name);
        Assert.False(summary.HasError);
        Assert.Equal(T0.AddSeconds(0.2), summary.Start);
        Assert.Equal(TimeSpan.FromSeconds(0.7), summary.Duration);
    }

    [Fact]
    public void GetTrace_OrdersSpansByStartWithParentsBeforeChildren()
    {
        var store = NewStore();
        store.AddTraces(Traces("svc", "svc-1",
            Span(7, 4, 2, "b-child", 0.25, 0.3),
            Span(7, 3, 1, "c", 0.4, 0.5),
            Span(7, 2, 1, "b", 0.2, 0.35),
            Span(7, 1, 0, "root", 0.0, 1.0),
            Span(7, 5, 3, "c-child", 0.45, 0.46)));

        var trace = store.GetTrace(TraceHex(7).ToUpperInvariant());

        Assert.NotNull(trace);
        Assert.Equal(["root", "b", "b-child", "c", "c-child"], trace.Spans.Select(s => s.Name));
        var root = trace.Spans[0];
        Assert.Equal(TraceHex(7), root.TraceId);
        Assert.Equal(SpanHex(1), root.SpanId);
        Assert.Null(root.ParentSpanId);
        Assert.Equal(SpanHex(1), trace.Spans[1].ParentSpanId);
        Assert.Equal(SpanKindName.Server, root.Kind);
        Assert.Equal("test.scope", root.Scope);
        Assert.Equal(T0, root.Start);
        Assert.Equal(TimeSpan.FromSeconds(1), root.Duration);
        Assert.Equal(new TelemetryResource("svc", "svc-1"), root.Resource);
    }

    [Fact]
    public void GetTrace_SpanWithAttributesAndEvents_KeepsThem()
    {
        var store = NewStore();
        var span = Span(8, 1, 0, "op", 0, 1, Status.Types.StatusCode.Error);
        span.Status.Message = "boom";
        span.Attributes.Add(Attribute("http.request.method", "GET"));
        span.Attributes.Add(Attribute("http.response.status_code", 500));
        var e = new Span.Types.Event { Name = "exception", TimeUnixNano = Nanos(0.5) };
        e.Attributes.Add(Attribute("exception.type", "System.InvalidOperationException"));
        span.Events.Add(e);
        store.AddTraces(Traces("svc", null, span));

        var entry = Assert.Single(store.GetTrace(TraceHex(8))!.Spans);

        Assert.Equal(SpanStatusName.Error, entry.Status);
        Assert.Equal("boom", entry.StatusMessage);
        Assert.Equal([new TelemetryAttribute("http.request.method", "GET"), new TelemetryAttribute("http.response.status_code", "500")], entry.Attributes);
        var spanEvent = Assert.Single(entry.Events);
        Assert.Equal("exception", spanEvent.Name);
        Assert.Equal(T0.AddSeconds(0.5), spanEvent.Timestamp);
        Assert.Equal([new TelemetryAttribute("exception.type", "System.InvalidOperationException")], spanEvent.Attributes);
    }

    [Fact]
    public void AddTraces_PastTheSpanCap_DropsOldestSpansAndEmptiedTraces()
    {
        var store = NewStore(l => l.MaxSpans = 3);
        store.AddTraces(Traces("svc", null, Span(1, 1, 0, "a-root", 0, 1), Span(1, 2, 1, "a-child", 0.1, 0.2)));
        store.AddTraces(Traces("svc", null, Span(2, 1, 0, "b-root", 2, 3), Span(2, 2, 1, "b-child", 2.1, 2.2)));

        // a-root left first: a-child is now the earliest span of trace 1 whose parent is not here.
        var first = store.GetTrace(TraceHex(1));
        Assert.Equal(["a-child"], first!.Spans.Select(s => s.Name));
        Assert.Equal("a-child", first.Summary.Name);
        Assert.Equal(new TelemetryCounts(0, 3, 2, 0, 0, 1, 0, 0), store.GetCounts());

        store.AddTraces(Traces("svc", null, Span(3, 1, 0, "c-root", 4, 5), Span(3, 2, 1, "c-child", 4.1, 4.2)));

        Assert.Null(store.GetTrace(TraceHex(1)));
        Assert.Equal(["c-root", "b-child"], store.QueryTraces(new TraceQuery()).Select(t => t.Name));
        Assert.Equal(new TelemetryCounts(0, 3, 2, 0, 0, 3, 0, 0), store.GetCounts());
    }

    [Fact]
    public void AddTraces_InvalidIdsAndRepeats_AreNotStored()
    {
        var store = NewStore();
        var shortId = Span(1, 1, 0, "short trace id", 0, 1);
        shortId.TraceId = Google.Protobuf.ByteString.CopyFrom(1, 2, 3);
        var zeroSpan = Span(1, 1, 0, "zero span id", 0, 1);
        zeroSpan.SpanId = Google.Protobuf.ByteString.CopyFrom(new byte[8]);
        store.AddTraces(Traces("svc", null, shortId, zeroSpan, Span(2, 1, 0, "good", 0, 1)));
        var stored = store.AddTraces(Traces("svc", null, Span(2, 1, 0, "good", 0, 1)));

        Assert.Equal(0, stored);
        Assert.Equal(1, store.GetCounts().Spans);
        Assert.Equal(2, store.GetCounts().DroppedSpans);
        Assert.Equal(1, store.GetTrace(TraceHex(2))!.Summary.SpanCount);
    }

    [Fact]
    public void QueryTraces_Filters_MatchResourceTextDurationAndLimitNewestFirst()
    {
        var store = NewStore();
        var tagged = Span(3, 1, 0, "GET /health", 20, 20.001);
        tagged.Attributes.Add(Attribute("url.path", "/v2/models/mnist/infer"));
        store.AddTraces(Traces("gateway", "gateway-a", Span(1, 1, 0, "predict", 0, 2)));
        store.AddTraces(Traces("inference", "inference-b", Span(2, 1, 0, "infer", 10, 10.05), tagged));
        store.AddTraces(Traces("gateway", "gateway-c", Span(2, 2, 1, "forward", 10.01, 10.04)));

        Assert.Equal([TraceHex(3), TraceHex(2), TraceHex(1)], store.QueryTraces(new TraceQuery()).Select(t => t.TraceId));
        Assert.Equal([TraceHex(2), TraceHex(1)], store.QueryTraces(new TraceQuery(Resource: "gateway")).Select(t => t.TraceId));
        Assert.Equal([TraceHex(2)], store.QueryTraces(new TraceQuery(Resource: "gateway-c")).Select(t => t.TraceId));
        Assert.Equal([TraceHex(3)], store.QueryTraces(new TraceQuery(Text: "MNIST")).Select(t => t.TraceId));
        Assert.Equal([TraceHex(2)], store.QueryTraces(new TraceQuery(Text: "forward")).Select(t => t.TraceId));
        Assert.Equal([TraceHex(2), TraceHex(1)], store.QueryTraces(new TraceQuery(MinimumDuration: TimeSpan.FromMilliseconds(50))).Select(t => t.TraceId));
        Assert.Equal([TraceHex(3)], store.QueryTraces(new TraceQuery(Limit: 1)).Select(t => t.TraceId));
        Assert.Equal([TraceHex(1)], store.QueryTraces(new TraceQuery(Text: TraceHex(1)[20..])).Select(t => t.TraceId));
    }

    [Fact]
    public void GetTrace_UnknownOrMalformedId_IsNull()
    {
        var store = NewStore();
        store.AddTraces(Traces("svc", null, Span(1, 1, 0, "a", 0, 1)));

        Assert.Null(store.GetTrace(TraceHex(2)));
        Assert.Null(store.GetTrace("not-a-trace-id"));
        Assert.Null(store.GetTrace(new string('g', 32)));
    }

    [Fact]
    public void AddTraces_ParentCycle_StillReturnsEverySpan()
    {
        var store = NewStore();
        store.AddTraces(Traces("svc", null, Span(1, 1, 2, "a", 0, 1), Span(1, 2, 1, "b", 0.5, 1)));

        var trace = store.GetTrace(TraceHex(1));

        Assert.Equal(["a", "b"], trace!.Spans.Select(s => s.Name));
        Assert.Equal("a", trace.Summary.Name);
    }

    [Fact]
    public void AddTraces_DeepTrace_DoesNotOverflowTheStack()
    {
        var store = NewStore();
        var spans = Enumerable.Range(1, 20_000).Select(i => Span(1, i, i - 1, $"s{i}", i * 0.001, 100)).ToArray();
        store.AddTraces(Traces("svc", null, spans));

        var trace = store.GetTrace(TraceHex(1));

        Assert.Equal(20_000, trace!.Spans.Count);
        Assert.Equal("s1", trace.Summary.Name);
        Assert.Equal("s20000", trace.Spans[^1].Name);
    }
}
