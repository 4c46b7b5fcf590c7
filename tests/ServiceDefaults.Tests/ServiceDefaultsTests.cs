using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace MlPlatform.ServiceDefaults.Tests;

public sealed class ServiceDefaultsTests
{
    [Fact]
    public async Task MapDefaultEndpoints_UnhealthyReadinessCheck_HealthIs503ButAliveIs200()
    {
        await using var service = await LoopbackApp.StartAsync(
            builder => builder.Services.AddHealthChecks().AddCheck("database", () => HealthCheckResult.Unhealthy("down")),
            _ => { });
        using var client = new HttpClient { BaseAddress = service.Address };

        using var health = await client.GetAsync("/health");
        using var alive = await client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task MapDefaultEndpoints_InProduction_ServesPrometheusMetricsOfOurMeters()
    {
        await using var service = await LoopbackApp.StartAsync(_ => { }, app =>
        {
            var counter = app.Services.GetRequiredService<IMeterFactory>().Create("MlPlatform.Test").CreateCounter<long>("mlplatform.test.calls");
            app.MapGet("/call", () =>
            {
                counter.Add(1);
                return "ok";
            });
        });
        using var client = new HttpClient { BaseAddress = service.Address };

        await client.GetStringAsync("/call");
        var metrics = await client.GetStringAsync("/metrics");

        Assert.Contains("mlplatform_test_calls_total", metrics);
        Assert.Contains("http_server_request_duration_seconds", metrics);
    }

    [Fact]
    public async Task Metrics_ManyAttributeSets_FrameworkStreamsCappedWithOverflowOursKeptWhole()
    {
        const int attributeSets = Extensions.FrameworkMetricCardinalityLimit + 100;
        await using var service = await LoopbackApp.StartAsync(
            // Any meter the defaults listen to that is not ours gets the framework's limit.
            builder => builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddMeter("Framework.Test", "System.Runtime")),
            app =>
            {
                var meters = app.Services.GetRequiredService<IMeterFactory>();
                var framework = meters.Create("Framework.Test").CreateCounter<long>("framework.test.calls");
                var ours = meters.Create("MlPlatform.Test").CreateCounter<long>("mlplatform.test.models");
                // A meter of fixed attribute sets (the runtime's) gets the smaller limit.
                var fixedAttributes = meters.Create("System.Runtime").CreateCounter<long>("test.runtime.events");
                app.MapPost("/record", () =>
                {
                    for (var i = 0; i < attributeSets; i++)
                    {
                        framework.Add(1, new KeyValuePair<string, object?>("peer", $"peer-{i}"));
                        ours.Add(1, new KeyValuePair<string, object?>("model", $"model-{i}"));
                        fixedAttributes.Add(1, new KeyValuePair<string, object?>("kind", $"kind-{i}"));
                    }
                });
            });
        using var client = new HttpClient { BaseAddress = service.Address };

        using var recorded = await client.PostAsync("/record", content: null);
        recorded.EnsureSuccessStatusCode();
        var lines = (await client.GetStringAsync("/metrics")).Split('\n');

        var framework = lines.Where(line => line.StartsWith("framework_test_calls_total{", StringComparison.Ordinal)).ToArray();
        var ours = lines.Where(line => line.StartsWith("mlplatform_test_models_total{", StringComparison.Ordinal)).ToArray();
        var fixedAttributes = lines.Where(line => line.StartsWith("test_runtime_events_total{", StringComparison.Ordinal)).ToArray();
        Assert.Equal(attributeSets, ours.Length);
        Assert.InRange(framework.Length, Extensions.FrameworkMetricCardinalityLimit - 1, Extensions.FrameworkMetricCardinalityLimit + 1);
        // Nothing past the limit is lost: it is counted under the overflow attribute.
        var overflow = Assert.Single(framework, line => line.Contains("otel_metric_overflow=\"true\"", StringComparison.Ordinal));
        var total = framework.Sum(line => long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(attributeSets, total);
        Assert.NotNull(overflow);
        Assert.InRange(fixedAttributes.Length, Extensions.FixedAttributeMetricCardinalityLimit - 1, Extensions.FixedAttributeMetricCardinalityLimit + 1);
        Assert.Single(fixedAttributes, line => line.Contains("otel_metric_overflow=\"true\"", StringComparison.Ordinal));
        Assert.Equal(attributeSets, fixedAttributes.Sum(line => long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task HttpClients_ServiceDiscoveryConfiguration_ResolveLogicalNameAndRetryTransientFailures()
    {
        var calls = 0;
        await using var backend = await LoopbackApp.StartAsync(_ => { }, app => app.MapGet("/ping", () =>
            // The first call fails as a replica restarting would; the standard resilience handler retries it.
            Interlocked.Increment(ref calls) == 1 ? Results.StatusCode(503) : Results.Text("pong")), serviceDefaults: false);
        await using var service = await LoopbackApp.StartAsync(
            builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["services:backend:http:0"] = backend.Address.ToString(),
            }),
            _ => { });
        var client = service.App.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var answer = await client.GetStringAsync("http://backend/ping");

        Assert.Equal("pong", answer);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task ConfigureOpenTelemetry_OtlpEndpointSet_ExportsRequestTracesButNotProbes()
    {
        var exports = new ConcurrentQueue<byte[]>();
        await using var collector = await LoopbackApp.StartAsync(_ => { }, app => app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            exports.Enqueue(body.ToArray());
            return Results.Ok();
        }), serviceDefaults: false);
        await using var service = await LoopbackApp.StartAsync(
            builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Address.ToString().TrimEnd('/'),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            }),
            app => app.MapGet("/work", () => "done"));
        using var client = new HttpClient { BaseAddress = service.Address };

        await client.GetStringAsync("/health");
        await client.GetStringAsync("/alive");
        await client.GetStringAsync("/work");

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!ServerSpanExported("/work") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(ServerSpanExported("/work"), "no server span for /work reached the OTLP endpoint");
        Assert.False(ServerSpanExported("/health"));
        Assert.False(ServerSpanExported("/alive"));
        // Calls out to a probe path (the gateway's health checks) leave no client span either; other calls do.
        Assert.True(ClientSpanExported("work"), "no client span for /work reached the OTLP endpoint");
        Assert.False(ClientSpanExported("health"));
        Assert.False(ClientSpanExported("alive"));

        // Server spans are named "GET {route}"; the test's own client spans, which share this
        // process's tracer, are named just "GET" and so are not counted.
        bool ServerSpanExported(string path) =>
            exports.Any(body => Encoding.UTF8.GetString(body).Contains("GET " + path, StringComparison.Ordinal));

        // A client span carries the whole URL it called (url.full); a server span only its path.
        bool ClientSpanExported(string path) =>
            exports.Any(body => Encoding.UTF8.GetString(body).Contains(new Uri(service.Address, path).ToString(), StringComparison.Ordinal));
    }
}
