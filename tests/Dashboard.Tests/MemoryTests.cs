using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Collector.Trace.V1;
using Xunit.Abstractions;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryCollection
{
    public const string Name = "memory";
}

/// <summary>Alone (no other test allocating meanwhile), so the heap it measures is the store's.</summary>
[Collection(MemoryCollection.Name)]
public sealed class MemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void HundredThousandSpans_LikeTheServicesSend_FitInAFewDozenMegabytes()
    {
        const int Spans = 100_000;
        const int SpansPerTrace = 4;
        const int Batch = 512;
        var store = new TelemetryStore(Limits(l => l.MaxSpans = Spans), new ManualTime(T0));
        string[] services = ["gateway", "preprocessing", "inference", "postprocessing"];

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var sent = 0;
        while (sent < Spans)
        {
            var request = new ExportTraceServiceRequest();
            for (var s = 0; s < services.Length; s++)
            {
                var batch = Traces(services[s], $"{services[s]}-abcdefg{s}");
                for (var i = 0; i < Batch / services.Length && sent < Spans; i++, sent++)
                {
                    var trace = (sent / SpansPerTrace) + 1;
                    var span = Span(trace, (sent % SpansPerTrace) + 1, sent % SpansPerTrace, "POST /v2/models/{model}/infer", sent * 0.001, (sent * 0.001) + 0.004);
                    span.Attributes.Add(Attribute("http.request.method", "POST"));
                    span.Attributes.Add(Attribute("url.scheme", "http"));
                    span.Attributes.Add(Attribute("url.path", $"/v2/models/mnist/infer"));
                    span.Attributes.Add(Attribute("server.address", "localhost"));
                    span.Attributes.Add(Attribute("server.port", 8001 + s));
                    span.Attributes.Add(Attribute("network.protocol.version", "1.1"));
                    span.Attributes.Add(Attribute("http.route", "/v2/models/{model}/infer"));
                    span.Attributes.Add(Attribute("http.response.status_code", 200));
                    span.Attributes.Add(Attribute("user_agent.original", "OpenTelemetry-Dotnet/1.20.1"));
                    span.Attributes.Add(Attribute("mlplatform.request_id", $"req-{sent / SpansPerTrace:x8}"));
                    batch.ResourceSpans[0].ScopeSpans[0].Spans.Add(span);
                }

                request.ResourceSpans.Add(batch.ResourceSpans[0]);
            }

            store.AddTraces(request);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(store);
        var megabytes = (after - before) / 1024.0 / 1024.0;
        output.WriteLine($"{Spans:N0} spans held: {megabytes:F1} MB managed, {(after - before) / Spans} bytes a span");

        Assert.Equal(Spans, store.GetCounts().Spans);
        Assert.InRange(megabytes, 1, 80);
    }
}
