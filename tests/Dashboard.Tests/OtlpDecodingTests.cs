using System.Text;
using Google.Protobuf;
using MlPlatform.Dashboard.Otlp;
using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Collector.Trace.V1;
using Opentelemetry.Proto.Common.V1;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

public class OtlpDecodingTests
{
    [Fact]
    public void Format_EveryValueKind_IsReadableText()
    {
        var list = new ArrayValue();
        list.Values.Add(new AnyValue { IntValue = -3 });
        list.Values.Add(new AnyValue { DoubleValue = 0.25 });
        list.Values.Add(new AnyValue());

        Assert.Equal("text", OtlpValues.Format(new AnyValue { StringValue = "text" }, 100));
        Assert.Equal("true", OtlpValues.Format(new AnyValue { BoolValue = true }, 100));
        Assert.Equal("-42", OtlpValues.Format(new AnyValue { IntValue = -42 }, 100));
        Assert.Equal("1.5", OtlpValues.Format(new AnyValue { DoubleValue = 1.5 }, 100));
        Assert.Equal("AQID", OtlpValues.Format(new AnyValue { BytesValue = ByteString.CopyFrom(1, 2, 3) }, 100));
        Assert.Equal("[-3,0.25,null]", OtlpValues.Format(new AnyValue { ArrayValue = list }, 100));
        Assert.Equal(string.Empty, OtlpValues.Format(null, 100));
        Assert.Equal("[-3,", OtlpValues.Format(new AnyValue { ArrayValue = list }, 4));
    }

    [Fact]
    public void Format_DeeplyNestedValue_IsCutOff()
    {
        var value = new AnyValue { StringValue = "leaf" };
        for (var i = 0; i < 50; i++)
        {
            var wrapper = new ArrayValue();
            wrapper.Values.Add(value);
            value = new AnyValue { ArrayValue = wrapper };
        }

        Assert.Equal("[[[[[[[[…]]]]]]]]", OtlpValues.Format(value, 1000));
    }

    [Fact]
    public void Truncate_NeverSplitsASurrogatePair()
    {
        Assert.Equal("ab", OtlpValues.Truncate("ab\U0001F600", 3));
        Assert.Equal("ab\U0001F600", OtlpValues.Truncate("ab\U0001F600c", 4));
    }

    [Fact]
    public void IdToHex_IsLowercaseOrNullForEmptyAndZero()
    {
        Assert.Equal("00000000000000000000000000abcdef", OtlpValues.IdToHex(TraceId(0xABCDEF)));
        Assert.Null(OtlpValues.IdToHex(ByteString.Empty));
        Assert.Null(OtlpValues.IdToHex(ByteString.CopyFrom(new byte[16])));
    }

    [Fact]
    public void ProtobufBytes_ParsedAndStored_RoundTripEveryField()
    {
        var span = Span(0x1234, 0x99, 0x42, "op", 1, 2);
        span.TraceId = ByteString.CopyFrom(Convert.FromHexString("0AF7651916CD43DD8448EB211C80319C"));
        var bytes = Traces("svc", "svc-7", span).ToByteArray();
        var store = new TelemetryStore(Limits(), new ManualTime(T0));

        store.AddTraces(ExportTraceServiceRequest.Parser.ParseFrom(bytes));

        var entry = Assert.Single(store.GetTrace("0af7651916cd43dd8448eb211c80319c")!.Spans);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", entry.TraceId);
        Assert.Equal("0000000000000099", entry.SpanId);
        Assert.Equal("0000000000000042", entry.ParentSpanId);
        Assert.Equal(T0.AddSeconds(1), entry.Start);
        Assert.Equal(T0.AddSeconds(2), entry.End);
    }

    [Fact]
    public void Json_HexIds_AreReadAsTheSameBytes()
    {
        var json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"js"}}]},
              "scopeSpans":[{"scope":{"name":"browser"},"spans":[{
                "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"",
                "name":"fetch","kind":3,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
                "attributes":[{"key":"http.status_code","value":{"intValue":"200"}}],
                "droppedAttributesCount":0,"flags":257,"futureField":{"x":1},
                "events":[{"timeUnixNano":"1544712660300000000","name":"open"}],
                "links":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}]}
            """;

        var request = OtlpJson.Parse<ExportTraceServiceRequest>(Encoding.UTF8.GetBytes(json));
        var store = new TelemetryStore(Limits(), new ManualTime(T0));
        store.AddTraces(request);

        var entry = Assert.Single(store.GetTrace("5b8efff798038103d269b633813fc60c")!.Spans);
        Assert.Equal("eee19b7ec3c1b174", entry.SpanId);
        Assert.Null(entry.ParentSpanId);
        Assert.Equal(SpanKindName.Client, entry.Kind);
        Assert.Equal(new TelemetryResource("js", "js"), entry.Resource);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1544712660000), entry.Start);
        Assert.Equal(TimeSpan.FromSeconds(1), entry.Duration);
        Assert.Equal([new TelemetryAttribute("http.status_code", "200")], entry.Attributes);
        Assert.Equal("open", Assert.Single(entry.Events).Name);
    }

    [Theory]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not hex at all"}]}]}]}""", "traceId")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"abc"}]}]}]}""", "spanId")]
    [InlineData("""{"resourceSpans":[""", "not valid JSON")]
    [InlineData("""{"resourceSpans":{"oops":true}}""", "ExportTraceServiceRequest")]
    [InlineData("""[1,2,3]""", "ExportTraceServiceRequest")]
    public void Json_Malformed_ThrowsFormatExceptionNamingTheProblem(string json, string expected)
    {
        var exception = Assert.Throws<FormatException>(() => OtlpJson.Parse<ExportTraceServiceRequest>(Encoding.UTF8.GetBytes(json)));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_EscapedStrings_SurviveTheIdRewrite()
    {
        var json = """{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a \"quoted\" \u00e9 name","traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}""";

        var request = OtlpJson.Parse<ExportTraceServiceRequest>(Encoding.UTF8.GetBytes(json));

        Assert.Equal("a \"quoted\" é name", request.ResourceSpans[0].ScopeSpans[0].Spans[0].Name);
    }
}
