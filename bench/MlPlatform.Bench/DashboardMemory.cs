using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MlPlatform.TestSupport;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MlPlatform.Bench;

/// <summary>
/// Resident memory of the AppHost process (which hosts the dashboard) after its OTLP receiver has
/// taken 100,000 spans, against the same process idle with the application up, same run.
/// </summary>
internal static class DashboardMemory
{
    public const string Id = "dashboard-memory";

    private const int SpansToSend = 100_000;
    private const int SpansPerTrace = 4;
    private const double GoalMegabytes = 300;

    public static async Task RunAsync(BenchSettings settings)
    {
        var apiKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await using var appHost = await AppHostProcess.StartAsync(TimeSpan.FromMinutes(2), $"--Dashboard:OtlpApiKey={apiKey}");
        var otlpGrpc = appHost.OtlpGrpcEndpoint ?? throw new InvalidOperationException("The AppHost printed no OTLP receiver line");
        Console.WriteLine($"AppHost pid {appHost.ProcessId}, OTLP {otlpGrpc}, dashboard {appHost.LoginUrl}");

        // Idle: every replica up and exporting its own telemetry once a second.
        await Task.Delay(settings.Warmup * 2);
        var idle = ProcStatus.ResidentMegabytes(appHost.ProcessId);
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { Timeout = TimeSpan.FromSeconds(30) };
        (await browser.GetAsync(appHost.LoginUrl)).EnsureSuccessStatusCode();
        var countsUrl = new Uri(appHost.DashboardUrl, "api/counts");
        var before = await SpansReceivedAsync(browser, countsUrl);

        var sending = Stopwatch.StartNew();
        SendSpans(otlpGrpc, apiKey);
        var received = before;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (received - before < SpansToSend && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            received = await SpansReceivedAsync(browser, countsUrl);
        }

        sending.Stop();
        var after = ProcStatus.ResidentMegabytes(appHost.ProcessId);
        var peak = ProcStatus.PeakResidentMegabytes(appHost.ProcessId);
        using var counts = JsonDocument.Parse(await browser.GetStringAsync(countsUrl));
        var held = counts.RootElement.GetProperty("spans").GetInt32();
        var ratio = after / idle;
        Console.WriteLine($"idle {idle:F0} MB, after {after:F0} MB (peak {peak:F0} MB), {received - before:N0} spans received, {held:N0} held");

        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"The AppHost as `dotnet run --project AppHost` starts it (Release build, every replica up and exporting its own telemetry), then {SpansToSend:N0} spans sent to its OTLP/gRPC receiver by the OpenTelemetry .NET SDK: {SpansToSend / SpansPerTrace:N0} traces of {SpansPerTrace} spans, each with 8 attributes, batches of 2,048. Resident memory (VmRSS) of the AppHost process read from /proc before and after.")
            .AppendLine()
            .AppendLine("| AppHost process | resident MB |")
            .AppendLine("| --- | ---: |")
            .AppendLine(CultureInfo.InvariantCulture, $"| idle, application up (reference) | {idle:F0} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| after {SpansToSend:N0} spans ({received - before:N0} received in {sending.Elapsed.TotalSeconds:F1} s; {held:N0} held, the rest dropped oldest-first by `Dashboard:Limits:MaxSpans`) | {after:F0} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| peak (VmHWM) | {peak:F0} |")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**after / idle = {ratio:F2}x**; {after:F0} MB after {SpansToSend:N0} spans (goal: under {GoalMegabytes:F0} MB{(after < GoalMegabytes ? ", met" : ", not met")}).")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "Dashboard memory after 100,000 spans", body.ToString());
    }

    private static void SendSpans(Uri endpoint, string apiKey)
    {
        using var source = new ActivitySource("MlPlatform.Bench.Load");
        using var provider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService("bench-load", serviceInstanceId: "bench-load-0"))
            .SetSampler(new AlwaysOnSampler())
            .AddSource(source.Name)
            .AddOtlpExporter(otlp =>
            {
                otlp.Endpoint = endpoint;
                otlp.Protocol = OtlpExportProtocol.Grpc;
                otlp.Headers = $"x-otlp-api-key={apiKey}";
                otlp.ExportProcessorType = ExportProcessorType.Batch;
                otlp.BatchExportProcessorOptions = new BatchExportActivityProcessorOptions
                {
                    MaxQueueSize = 16_384,
                    MaxExportBatchSize = 2_048,
                    ScheduledDelayMilliseconds = 100,
                };
            })
            .Build()!;

        for (var trace = 0; trace < SpansToSend / SpansPerTrace; trace++)
        {
            using (var root = source.StartActivity("POST /v1/models/{model}:predict", ActivityKind.Server, parentContext: default))
            {
                Tag(root, trace, "/v1/models/mnist:predict");
                for (var hop = 1; hop < SpansPerTrace; hop++)
                {
                    using var child = source.StartActivity($"POST hop-{hop}", ActivityKind.Client);
                    Tag(child, trace, $"/v1/hop/{hop}");
                }
            }

            // The batch processor drops spans when its queue is full; flushing every few batches keeps every span.
            if ((trace + 1) % 2_000 == 0)
            {
                provider.ForceFlush();
            }
        }

        provider.ForceFlush();
    }

    private static void Tag(Activity? activity, int trace, string path)
    {
        activity?.SetTag("http.request.method", "POST")
            .SetTag("url.path", path)
            .SetTag("url.scheme", "http")
            .SetTag("server.address", "127.0.0.1")
            .SetTag("server.port", 8080)
            .SetTag("http.response.status_code", 200)
            .SetTag("network.protocol.version", "1.1")
            .SetTag("bench.trace", trace);
    }

    private static async Task<long> SpansReceivedAsync(HttpClient browser, Uri counts)
    {
        using var json = JsonDocument.Parse(await browser.GetStringAsync(counts));
        return json.RootElement.GetProperty("spans").GetInt64() + json.RootElement.GetProperty("droppedSpans").GetInt64();
    }
}
