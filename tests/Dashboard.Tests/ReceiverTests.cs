using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using MlPlatform.Dashboard.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Opentelemetry.Proto.Collector.Trace.V1;
using static MlPlatform.Dashboard.Tests.Otlp;
using StatusCode = Grpc.Core.StatusCode;

namespace MlPlatform.Dashboard.Tests;

/// <summary>The OTLP receiver over the network: the real .NET exporter on both protocols, and every kind of bad export.</summary>
[Collection(DashboardCollection.Name)]
public sealed class ReceiverTests(DashboardFixture fixture) : IDisposable
{
    private const string TraceExportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private static readonly Method<byte[], byte[]> RawTraceExport = new(
        MethodType.Unary,
        "opentelemetry.proto.collector.trace.v1.TraceService",
        "Export",
        Marshallers.Create(static (byte[] b) => b, static b => b),
        Marshallers.Create(static (byte[] b) => b, static b => b));

    private readonly HttpClient _http = new() { BaseAddress = fixture.Server.OtlpHttpEndpoint };

    private DashboardServer Server => fixture.Server;

    public void Dispose() => _http.Dispose();

    public static TheoryData<string> Protocols => new() { "grpc", "http/protobuf" };

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task DotNetSdk_ExportsTracesLogsAndMetrics_AllArrive(string protocol)
    {
        var service = $"sdk-{protocol.Replace('/', '-')}";
        var instance = $"{service}-{Guid.NewGuid():N}"[..(service.Length + 9)];
        var resource = ResourceBuilder.CreateEmpty().AddService(service, serviceInstanceId: instance);
        var export = ExporterFor(protocol);

        using var source = new ActivitySource($"Dashboard.Tests.{service}");
        string traceId;
        using (var tracing = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(source.Name).AddOtlpExporter(o => export(o, "traces")).Build())
        {
            using var parent = source.StartActivity("GET /predict", ActivityKind.Server)!;
            traceId = parent.TraceId.ToHexString();
            using (var child = source.StartActivity("call inference", ActivityKind.Client)!)
            {
                child.SetTag("http.response.status_code", 503);
                child.SetStatus(ActivityStatusCode.Error, "upstream down");
            }
        }

        using (var factory = LoggerFactory.Create(logging => logging.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(resource);
            // As ServiceDefaults configures it: the body is the formatted message, the category the scope.
            o.IncludeFormattedMessage = true;
            o.IncludeScopes = true;
            o.AddOtlpExporter(e => export(e, "logs"));
        })))
        {
            var logger = factory.CreateLogger("MlPlatform.Tests.Receiver");
            using (logger.BeginScope("request {RequestId}", "r-1"))
            {
                logger.LogWarning("Model {Model} answered in {Elapsed} ms", "mnist", 42);
            }
        }

        using var meter = new Meter($"Dashboard.Tests.{service}");
        var requests = meter.CreateCounter<long>("test.requests", "{request}", "Requests served");
        var duration = meter.CreateHistogram<double>("test.duration", "s", null, null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1] });
        using (var metrics = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(meter.Name)
            .AddOtlpExporter((o, reader) =>
            {
                export(o, "metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 60_000;
            }).Build())
        {
            requests.Add(5, new KeyValuePair<string, object?>("route", "a"));
            duration.Record(0.2);
            Assert.True(metrics.ForceFlush(10_000));
            await Task.Delay(20);
            requests.Add(7, new KeyValuePair<string, object?>("route", "a"));
            duration.Record(0.3);
            Assert.True(metrics.ForceFlush(10_000));
        }

        var queries = Server.Telemetry;
        await DashboardFixture.WaitUntilAsync(() => queries.GetTrace(traceId)?.Spans.Count == 2, "the trace");
        var trace = queries.GetTrace(traceId)!;
        Assert.Equal("GET /predict", trace.Summary.Name);
        Assert.True(trace.Summary.HasError);
        Assert.Equal(new TelemetryResource(service, instance), trace.Spans[0].Resource);
        Assert.Equal(source.Name, trace.Spans[0].Scope);
        Assert.Equal(SpanKindName.Client, trace.Spans[1].Kind);
        Assert.Equal("upstream down", trace.Spans[1].StatusMessage);
        Assert.Contains(new TelemetryAttribute("http.response.status_code", "503"), trace.Spans[1].Attributes);

        await DashboardFixture.WaitUntilAsync(() => queries.QueryLogs(new LogQuery(Resource: instance)).Count == 1, "the log");
        var log = queries.QueryLogs(new LogQuery(Resource: instance))[0];
        Assert.Equal("Model mnist answered in 42 ms", log.Message);
        Assert.Equal("MlPlatform.Tests.Receiver", log.Category);
        Assert.Equal(LogLevelName.Warning, log.Level);
        Assert.Contains(new TelemetryAttribute("Model", "mnist"), log.Attributes);

        await DashboardFixture.WaitUntilAsync(() => queries.GetInstruments(instance).Count == 2, "the instruments");
        Assert.Equal(
            [new InstrumentSummary(service, meter.Name, "test.duration", string.Empty, "s", InstrumentKind.Histogram),
             new InstrumentSummary(service, meter.Name, "test.requests", "Requests served", "{request}", InstrumentKind.Counter)],
            queries.GetInstruments(instance));
        var counter = queries.GetChart(instance, meter.Name, "test.requests", TimeSpan.FromMinutes(5))!;
        var line = Assert.Single(counter.Lines);
        Assert.Equal($"{instance} rate/s", line.Label);
        // Disposing the provider exports once more, so there may be a later sample of 0.
        Assert.True(line.Samples[0].Value > 0);
        var histogram = queries.GetChart(instance, meter.Name, "test.duration", TimeSpan.FromMinutes(5))!;
        Assert.Equal(["p50", "p90", "p99", "rate/s"], histogram.Lines.Select(l => l.Label));
        // The second interval recorded 0.3, in (0.25, 0.5]: its median is halfway, 0.375.
        Assert.All(histogram.Lines[0].Samples, s => Assert.Equal(0.375, s.Value, 6));
        Assert.NotEmpty(histogram.Lines[0].Samples);
    }

    /// <summary>Sets endpoint, protocol and key; OTLP/HTTP needs the signal's path, which the SDK only adds for the environment variable.</summary>
    private Action<OtlpExporterOptions, string> ExporterFor(string protocol) => (options, signal) =>
    {
        options.Headers = $"x-otlp-api-key={DashboardFixture.ApiKey}";
        if (protocol == "grpc")
        {
            options.Protocol = OtlpExportProtocol.Grpc;
            options.Endpoint = Server.OtlpGrpcEndpoint;
        }
        else
        {
            options.Protocol = OtlpExportProtocol.HttpProtobuf;
            options.Endpoint = new Uri(Server.OtlpHttpEndpoint, $"/v1/{signal}");
        }
    };

    [Fact]
    public async Task DotNetSdk_WithoutKey_IsRejectedAndCounted()
    {
        var rejectedBefore = Server.Telemetry.GetCounts().RejectedExports;
        using var source = new ActivitySource("Dashboard.Tests.NoKey");
        using (Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("sdk-no-key"))
            .AddSource(source.Name)
            .AddOtlpExporter(o => o.Endpoint = Server.OtlpGrpcEndpoint)
            .Build())
        {
            source.StartActivity("never stored")!.Dispose();
        }

        await DashboardFixture.WaitUntilAsync(() => Server.Telemetry.GetCounts().RejectedExports > rejectedBefore, "the rejection");
        Assert.Empty(Server.Telemetry.QueryTraces(new TraceQuery(Resource: "sdk-no-key")));
        Assert.Contains(fixture.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("Rejected an OTLP gRPC export", StringComparison.Ordinal)
            && l.Message.Contains("no x-otlp-api-key header", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task Http_WithoutTheRightKey_Is401NamingTheHeader(string? key)
    {
        using var request = Post("/v1/traces", ValidTraces("http-no-key").ToByteArray(), "application/x-protobuf", key);

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("x-otlp-api-key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(Server.Telemetry.QueryTraces(new TraceQuery(Resource: "http-no-key")));
    }

    public static TheoryData<string, byte[], string, HttpStatusCode, string> BadHttpExports()
    {
        var valid = ValidTraces("bad-http").ToByteArray();
        return new()
        {
            { "malformed varint", Enumerable.Repeat((byte)0xFF, 32).ToArray(), "application/x-protobuf", HttpStatusCode.BadRequest, "not a valid OTLP protobuf ExportTraceServiceRequest" },
            { "truncated", valid[..(valid.Length / 2)], "application/x-protobuf", HttpStatusCode.BadRequest, "not a valid OTLP protobuf ExportTraceServiceRequest" },
            { "text content type", valid, "text/plain", HttpStatusCode.UnsupportedMediaType, "application/x-protobuf" },
            { "garbage content type", valid, "%%%; ===", HttpStatusCode.UnsupportedMediaType, "application/x-protobuf" },
            { "broken JSON", "{\"resourceSpans\":[{"u8.ToArray(), "application/json", HttpStatusCode.BadRequest, "not valid JSON" },
            { "JSON with a base64 id", """{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W47/95gDgQPSabYzgT/GDA=="}]}]}]}"""u8.ToArray(), "application/json", HttpStatusCode.BadRequest, "traceId" },
        };
    }

    [Theory]
    [MemberData(nameof(BadHttpExports))]
    public async Task Http_BadExport_Is4xxNamingTheProblem_AndTheReceiverKeepsWorking(string name, byte[] body, string contentType, HttpStatusCode expected, string detail)
    {
        var rejectedBefore = Server.Telemetry.GetCounts().RejectedExports;
        using var request = Post("/v1/traces", body, contentType, DashboardFixture.ApiKey);

        using var response = await _http.SendAsync(request);

        Assert.True(expected == response.StatusCode, $"{name}: {response.StatusCode}");
        var problem = await response.Content.ReadAsStringAsync();
        Assert.Contains(detail, problem, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", problem, StringComparison.Ordinal);
        Assert.Equal(rejectedBefore + 1, Server.Telemetry.GetCounts().RejectedExports);
        Assert.Empty(Server.Telemetry.QueryTraces(new TraceQuery(Resource: "bad-http")));
        await AssertValidHttpExportWorksAsync();
    }

    [Fact]
    public async Task Http_OversizedExport_Is413WithOrWithoutContentLength()
    {
        var body = new byte[DashboardFixture.MaxExportBytes + 1];
        using (var declared = Post("/v1/logs", body, "application/x-protobuf", DashboardFixture.ApiKey))
        using (var response = await _http.SendAsync(declared))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("MaxExportBytes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/logs") { Content = new StreamContent(new MemoryStream(body)) })
        {
            chunked.Headers.TransferEncodingChunked = true;
            chunked.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            chunked.Headers.Add("x-otlp-api-key", DashboardFixture.ApiKey);
            using var response = await _http.SendAsync(chunked);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        // A gzip body small on the wire but over the cap once expanded.
        using (var bomb = Post("/v1/logs", Gzip(new byte[DashboardFixture.MaxExportBytes * 4]), "application/x-protobuf", DashboardFixture.ApiKey))
        {
            bomb.Content!.Headers.ContentEncoding.Add("gzip");
            using var response = await _http.SendAsync(bomb);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        await AssertValidHttpExportWorksAsync();
    }

    [Fact]
    public async Task Http_GzipAndJson_AreAccepted()
    {
        using (var zipped = Post("/v1/traces", Gzip(Traces("http-gzip", null, Span(0x6a11, 1, 0, "zipped", 0, 1)).ToByteArray()), "application/x-protobuf", DashboardFixture.ApiKey))
        {
            zipped.Content!.Headers.ContentEncoding.Add("gzip");
            using var response = await _http.SendAsync(zipped);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }

        var json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"http-json"}}]},
              "scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"from json",
                "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000","status":{"code":2}}]}]}]}
            """;
        using (var request = Post("/v1/traces", Encoding.UTF8.GetBytes(json), "application/json; charset=utf-8", DashboardFixture.ApiKey))
        using (var response = await _http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal("zipped", Assert.Single(Server.Telemetry.QueryTraces(new TraceQuery(Resource: "http-gzip"))).Name);
        var trace = Server.Telemetry.GetTrace("0af7651916cd43dd8448eb211c80319c");
        Assert.Equal("b7ad6b7169203331", Assert.Single(trace!.Spans).SpanId);
        Assert.True(trace.Summary.HasError);
        Assert.Equal(TimeSpan.FromMilliseconds(500), trace.Summary.Duration);
    }

    [Fact]
    public async Task Grpc_WithoutTheRightKey_IsUnauthenticated()
    {
        using var channel = GrpcChannel.ForAddress(Server.OtlpGrpcEndpoint);
        var invoker = channel.CreateCallInvoker();
        var payload = ValidTraces("grpc-no-key").ToByteArray();

        var missing = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(RawTraceExport, null, default, payload).ResponseAsync);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(RawTraceExport, null, WithKey("nope"), payload).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Contains("x-otlp-api-key", missing.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Empty(Server.Telemetry.QueryTraces(new TraceQuery(Resource: "grpc-no-key")));
    }

    [Fact]
    public async Task Grpc_MalformedTruncatedOrOversized_IsRefusedWithTheRightStatus_AndTheReceiverKeepsWorking()
    {
        using var channel = GrpcChannel.ForAddress(Server.OtlpGrpcEndpoint);
        var invoker = channel.CreateCallInvoker();
        var valid = ValidTraces("grpc-bad").ToByteArray();
        var rejectedBefore = Server.Telemetry.GetCounts().RejectedExports;

        var garbage = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(RawTraceExport, null, WithKey(DashboardFixture.ApiKey), Enumerable.Repeat((byte)0xFF, 32).ToArray()).ResponseAsync);
        var truncated = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(RawTraceExport, null, WithKey(DashboardFixture.ApiKey), valid[..(valid.Length / 2)]).ResponseAsync);
        var oversized = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(RawTraceExport, null, WithKey(DashboardFixture.ApiKey), new byte[DashboardFixture.MaxExportBytes + 1]).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);
        Assert.Contains("ExportTraceServiceRequest", garbage.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, truncated.StatusCode);
        Assert.True(oversized.StatusCode == StatusCode.ResourceExhausted, $"{oversized.StatusCode}: {oversized.Status.Detail}");
        Assert.Empty(Server.Telemetry.QueryTraces(new TraceQuery(Resource: "grpc-bad")));
        Assert.Equal(rejectedBefore + 3, Server.Telemetry.GetCounts().RejectedExports);

        var ok = await invoker.AsyncUnaryCall(RawTraceExport, null, WithKey(DashboardFixture.ApiKey), Traces("grpc-after", null, Span(0x9a, 1, 0, "after", 0, 1)).ToByteArray());
        Assert.Empty(ok);
        Assert.Single(Server.Telemetry.QueryTraces(new TraceQuery(Resource: "grpc-after")));
    }

    private async Task AssertValidHttpExportWorksAsync()
    {
        var service = $"http-ok-{Guid.NewGuid():N}";
        using var request = Post("/v1/traces", Traces(service, null, Span(Random.Shared.Next(1, int.MaxValue), 1, 0, "ok", 0, 1)).ToByteArray(), "application/x-protobuf", DashboardFixture.ApiKey);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(Server.Telemetry.QueryTraces(new TraceQuery(Resource: service)));
    }

    private static ExportTraceServiceRequest ValidTraces(string service)
    {
        var span = Span(0x5eed, 1, 0, "valid", 0, 1);
        span.Attributes.Add(Attribute("padding", new string('p', 200)));
        return Traces(service, null, span);
    }

    private static CallOptions WithKey(string key) => new(new Metadata { { "x-otlp-api-key", key } });

    private static HttpRequestMessage Post(string path, byte[] body, string contentType, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (key is not null)
        {
            request.Headers.Add("x-otlp-api-key", key);
        }

        return request;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
