using System.Globalization;
using System.Text;

namespace MlPlatform.Bench;

/// <summary>
/// Latency of predict at a fixed offered load, well under the pipeline's capacity, against direct V2 infer at
/// the same load in the same run: what a client waits for the three hops when the platform is not saturated.
/// </summary>
internal static class PredictLatency
{
    public const string Id = "predict-latency";

    private const double RequestsPerSecond = 200;

    public static async Task RunAsync(BenchSettings settings)
    {
        await using var app = await BenchApplication.StartAsync();

        var requests = new MnistRequests();

        using var gateway = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = app.ServiceUrl("gateway") };
        gateway.DefaultRequestHeaders.Add("apikey", "dev-key-change-me");
        using var inference = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = app.ServiceUrl("inference") };

        // Cold processes tier up their JIT under load first (see the pipeline benchmark).
        await LoadGenerator.RunAsync(gateway, requests.PredictPng, 8, settings.Warmup * 4);
        await LoadGenerator.RunAsync(inference, requests.Infer, 8, settings.Warmup);

        var predict = new List<LoadResult>();
        var direct = new List<LoadResult>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            predict.Add(await LoadGenerator.RunAtRateAsync(gateway, requests.PredictPng, RequestsPerSecond, settings.Duration));
            direct.Add(await LoadGenerator.RunAtRateAsync(inference, requests.Infer, RequestsPerSecond, settings.Duration));
            Console.WriteLine($"round {round + 1}: predict {predict[^1]}; direct {direct[^1]}");
        }

        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"The application as `dotnet run --project AppHost` starts it through DCP (Release build, default replicas; clients call the DCP proxies of the gateway and of inference). An open-loop load of {RequestsPerSecond:F0} requests/s (requests start on schedule whether or not earlier ones are answered), {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s. Predict: a 280x280 black-on-white PNG of a held-out digit through the gateway. Direct: the same digit as a V2 binary request to one inference replica. Failed requests: {predict.Sum(r => r.Failed) + direct.Sum(r => r.Failed)}.")
            .AppendLine()
            .AppendLine("| path | p50 ms | p99 ms |")
            .AppendLine("| --- | ---: | ---: |")
            .AppendLine(CultureInfo.InvariantCulture, $"| direct V2 infer (reference) | {direct.Median(r => r.P50Milliseconds):F2} | {direct.Median(r => r.P99Milliseconds):F2} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| predict from a PNG | {predict.Median(r => r.P50Milliseconds):F2} | {predict.Median(r => r.P99Milliseconds):F2} |")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**predict / direct at {RequestsPerSecond:F0} requests/s: p50 {predict.Median(r => r.P50Milliseconds) / direct.Median(r => r.P50Milliseconds):F1}x, p99 {predict.Median(r => r.P99Milliseconds) / direct.Median(r => r.P99Milliseconds):F1}x** (no target; recorded as the issue asks).")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "Predict latency at a fixed offered load", body.ToString());
    }
}
