using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Common.V1;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

public class LogStoreTests
{
    private static TelemetryStore NewStore(Action<TelemetryLimits>? change = null) => new(Limits(change), new ManualTime(T0));

    [Fact]
    public void AddLogs_PastTheCap_DropsOldestFirstAndCountsThem()
    {
        var store = NewStore(l => l.MaxLogEntries = 3);
        store.AddLogs(Logs("svc", "svc-1", "Cat", Log("one", atSeconds: 1), Log("two", atSeconds: 2)));
        store.AddLogs(Logs("svc", "svc-1", "Cat", Log("three", atSeconds: 3), Log("four", atSeconds: 4), Log("five", atSeconds: 5)));

        var logs = store.QueryLogs(new LogQuery());

        Assert.Equal(["five", "four", "three"], logs.Select(l => l.Message));
        Assert.True(logs[0].Sequence > logs[1].Sequence);
        var counts = store.GetCounts();
        Assert.Equal(3, counts.Logs);
        Assert.Equal(2, counts.DroppedLogs);
    }

    [Theory]
    [InlineData(1, LogLevelName.Trace)]
    [InlineData(4, LogLevelName.Trace)]
    [InlineData(5, LogLevelName.Debug)]
    [InlineData(8, LogLevelName.Debug)]
    [InlineData(9, LogLevelName.Information)]
    [InlineData(12, LogLevelName.Information)]
    [InlineData(13, LogLevelName.Warning)]
    [InlineData(16, LogLevelName.Warning)]
    [InlineData(17, LogLevelName.Error)]
    [InlineData(20, LogLevelName.Error)]
    [InlineData(21, LogLevelName.Critical)]
    [InlineData(24, LogLevelName.Critical)]
    public void AddLogs_SeverityNumber_MapsToLevel(int severity, LogLevelName expected)
    {
        var store = NewStore();
        store.AddLogs(Logs("svc", null, "Cat", Log("m", severity)));

        var log = Assert.Single(store.QueryLogs(new LogQuery()));

        Assert.Equal(expected, log.Level);
        Assert.Equal(severity, log.SeverityNumber);
    }

    [Fact]
    public void AddLogs_NoSeverityNumber_UsesSeverityText()
    {
        var store = NewStore();
        var record = Log("m", severity: 0);
        record.SeverityText = "WARN";
        store.AddLogs(Logs("svc", null, "Cat", record));

        Assert.Equal(LogLevelName.Warning, Assert.Single(store.QueryLogs(new LogQuery())).Level);
    }

    [Fact]
    public void AddLogs_Record_ConvertsEveryField()
    {
        var store = NewStore();
        var record = Log("Predicted 7 in 3 ms", 13, 1.5, Attribute("Label", "7"), Attribute("{OriginalFormat}", "Predicted {Label} in {Ms} ms"));
        record.TraceId = TraceId(0xabc);
        record.SpanId = SpanId(0xdef);
        store.AddLogs(Logs("inference", "inference-abcdefgh", "MlPlatform.Inference.Scheduler", record));

        var log = Assert.Single(store.QueryLogs(new LogQuery()));

        Assert.Equal(new TelemetryResource("inference", "inference-abcdefgh"), log.Resource);
        Assert.Equal(T0.AddSeconds(1.5), log.Timestamp);
        Assert.Equal("Predicted 7 in 3 ms", log.Message);
        Assert.Equal("MlPlatform.Inference.Scheduler", log.Category);
        Assert.Equal(TraceHex(0xabc), log.TraceId);
        Assert.Equal(SpanHex(0xdef), log.SpanId);
        Assert.Equal(LogLevelName.Warning, log.Level);
        Assert.Contains(new TelemetryAttribute("Label", "7"), log.Attributes);
    }

    [Fact]
    public void AddLogs_TemplateBodyWithoutFormattedMessage_IsFilledFromAttributes()
    {
        var store = NewStore();
        store.AddLogs(Logs("svc", null, "Cat", Log("Request {Path} took {Elapsed:0.0} ms {{literal}} {Missing}", 9, 0, Attribute("Path", "/v2/models"), Attribute("Elapsed", 12))));

        Assert.Equal("Request /v2/models took 12 ms {literal} {Missing}", Assert.Single(store.QueryLogs(new LogQuery())).Message);
    }

    [Fact]
    public void AddLogs_StructuredBody_IsFormattedAsJson()
    {
        var store = NewStore();
        var record = Log("x");
        var map = new KeyValueList();
        map.Values.Add(Attribute("a", 1));
        var list = new ArrayValue();
        list.Values.Add(new AnyValue { StringValue = "q\"" });
        list.Values.Add(new AnyValue { BoolValue = true });
        map.Values.Add(new KeyValue { Key = "b", Value = new AnyValue { ArrayValue = list } });
        record.Body = new AnyValue { KvlistValue = map };
        store.AddLogs(Logs("svc", null, "Cat", record));

        Assert.Equal("{\"a\":1,\"b\":[\"q\\\"\",true]}", Assert.Single(store.QueryLogs(new LogQuery())).Message);
    }

    [Fact]
    public void AddLogs_ManyLongAttributes_AreCutToTheLimits()
    {
        var store = NewStore(l =>
        {
            l.MaxAttributes = 2;
            l.MaxValueLength = 16;
        });
        store.AddLogs(Logs("svc", null, "Cat", Log(new string('m', 40), 9, 0, Attribute("a", new string('x', 40)), Attribute("b", "short"), Attribute("c", "dropped"))));

        var log = Assert.Single(store.QueryLogs(new LogQuery()));

        Assert.Equal(16, log.Message.Length);
        Assert.Equal([new TelemetryAttribute("a", new string('x', 16)), new TelemetryAttribute("b", "short")], log.Attributes);
    }

    [Fact]
    public void AddLogs_ResourceWithoutInstanceOrService_FallsBack()
    {
        var store = NewStore();
        store.AddLogs(Logs("lonely", null, "Cat", Log("a")));
        var anonymous = Logs("ignored", null, "Cat", Log("b"));
        anonymous.ResourceLogs[0].Resource = null;
        store.AddLogs(anonymous);

        Assert.Equal([new TelemetryResource("lonely", "lonely"), new TelemetryResource("unknown_service", "unknown_service")], store.GetResources());
    }

    [Fact]
    public void QueryLogs_Filters_MatchResourceLevelTextTraceAndLimit()
    {
        var store = NewStore();
        var traced = Log("with trace", 9, 4);
        traced.TraceId = TraceId(42);
        store.AddLogs(Logs("gateway", "gateway-aaaa", "Yarp", Log("routed /v1", 9, 1), Log("slow upstream", 13, 2, Attribute("route", "predict"))));
        store.AddLogs(Logs("inference", "inference-bbbb", "Onnx", Log("model loaded", 9, 3), traced, Log("batch failed", 17, 5)));

        Assert.Equal(2, store.QueryLogs(new LogQuery(Resource: "gateway")).Count);
        Assert.Equal(3, store.QueryLogs(new LogQuery(Resource: "INFERENCE-bbbb")).Count);
        Assert.Empty(store.QueryLogs(new LogQuery(Resource: "nobody")));
        Assert.Equal(["batch failed", "slow upstream"], store.QueryLogs(new LogQuery(MinimumLevel: LogLevelName.Warning)).Select(l => l.Message));
        Assert.Equal(["slow upstream"], store.QueryLogs(new LogQuery(Text: "PREDICT")).Select(l => l.Message));
        Assert.Equal(["batch failed", "with trace", "model loaded"], store.QueryLogs(new LogQuery(Resource: "inference", MinimumLevel: LogLevelName.Information, Text: "onnx", Limit: 5)).Select(l => l.Message));
        Assert.Equal(["with trace"], store.QueryLogs(new LogQuery(TraceId: TraceHex(42).ToUpperInvariant())).Select(l => l.Message));
        Assert.Equal(["batch failed", "with trace"], store.QueryLogs(new LogQuery(Limit: 2)).Select(l => l.Message));
    }

    [Fact]
    public void AddLogs_RaisesChanged()
    {
        var store = NewStore();
        var raised = 0;
        store.Changed += () => raised++;
        store.Changed += () => throw new InvalidOperationException("a broken page");
        store.Changed += () => raised++;

        store.AddLogs(Logs("svc", null, "Cat", Log("a")));

        Assert.Equal(2, raised);
    }
}
