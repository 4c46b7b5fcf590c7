using System.Globalization;
using System.Text;
using MlPlatform.AppHost.Testing;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// The full predict pipeline (gateway, preprocessing, inference, postprocessing, from a PNG) against
/// a V2 binary infer sent straight to one inference replica, same model, same run.
/// </summary>
internal static class PipelineVersusDirect
{
    public const string Id = "pipeline-vs-direct";

    public static async Task RunAsync(BenchSettings settings)
    {
        await using var app = await BenchApplication.StartAsync();

        var requests = new MnistRequests();

        using var gateway = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = app.Replicas("gateway")[0].Url };
        // The example consumer of Gateway/appsettings.json (its development limits are never reached here).
        gateway.DefaultRequestHeaders.Add("apikey", "dev-key-change-me");
        using var inference = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = app.Replicas("inference")[0].Url };
        var concurrency = settings.Concurrency * 2;

        // Seven processes start cold and tier up their JIT on two cores: the pipeline takes 20-30 s to reach its
        // steady rate, a single warm inference replica a few seconds. Each path gets the same, longer warm-up,
        // so round 1 measures the services and not the JIT.
        var warmup = settings.Warmup * 4;
        await LoadGenerator.RunAsync(gateway, requests.PredictPng, concurrency, warmup);
        await LoadGenerator.RunAsync(gateway, requests.PredictInstances, concurrency, warmup);
        await LoadGenerator.RunAsync(inference, requests.Infer, concurrency, warmup);

        var cpu = new ProcessCpu(app);
        var pipeline = new List<LoadResult>();
        var pipelineInstances = new List<LoadResult>();
        var direct = new List<LoadResult>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            pipeline.Add(await cpu.MeasureAsync("png", () => LoadGenerator.RunAsync(gateway, requests.PredictPng, concurrency, settings.Duration)));
            pipelineInstances.Add(await cpu.MeasureAsync("instances", () => LoadGenerator.RunAsync(gateway, requests.PredictInstances, concurrency, settings.Duration)));
            direct.Add(await cpu.MeasureAsync("direct", () => LoadGenerator.RunAsync(inference, requests.Infer, concurrency, settings.Duration)));
            Console.WriteLine($"round {round + 1}: predict PNG {pipeline[^1]}; predict instances {pipelineInstances[^1]}; direct infer {direct[^1]}");
        }

        var pipelineRate = pipeline.Sum(r => r.Completed) / pipeline.Sum(r => r.Elapsed.TotalSeconds);
        var instancesRate = pipelineInstances.Sum(r => r.Completed) / pipelineInstances.Sum(r => r.Elapsed.TotalSeconds);
        var directRate = direct.Sum(r => r.Completed) / direct.Sum(r => r.Elapsed.TotalSeconds);
        var ratio = pipelineRate / directRate;
        var instancesRatio = instancesRate / directRate;
        Console.WriteLine($"pipeline/direct = {ratio:F2}x from PNG, {instancesRatio:F2}x from instances (goal at least 0.35x)");

        var met = Math.Min(ratio, instancesRatio) >= 0.35;
        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"The application model as `dotnet run --project AppHost` starts it (gateway 1, preprocessing 2, inference 2, postprocessing 2 replicas), Release build, all on this machine. Predict: a 280x280 black-on-white PNG of a held-out digit, or the same digit as KServe V1 `instances` (28x28 numbers, no image work), to `POST /v1/models/mnist:predict` on the gateway. Direct: the same digit as a 1x1x28x28 FP32 V2 binary request to `POST /v2/models/mnist/infer` on one inference replica. {concurrency} concurrent clients, each path warmed up for {warmup.TotalSeconds:F0} s, then {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s; client errors: {pipeline.Sum(r => r.Failed) + pipelineInstances.Sum(r => r.Failed) + direct.Sum(r => r.Failed)}.")
            .AppendLine()
            .AppendLine("| path | requests/s | p50 ms | p99 ms |")
            .AppendLine("| --- | ---: | ---: | ---: |")
            .AppendLine(CultureInfo.InvariantCulture, $"| direct V2 infer (reference) | {directRate:F1} | {direct.Median(r => r.P50Milliseconds):F1} | {direct.Median(r => r.P99Milliseconds):F1} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| full predict pipeline, PNG | {pipelineRate:F1} | {pipeline.Median(r => r.P50Milliseconds):F1} | {pipeline.Median(r => r.P99Milliseconds):F1} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| full predict pipeline, instances | {instancesRate:F1} | {pipelineInstances.Median(r => r.P50Milliseconds):F1} | {pipelineInstances.Median(r => r.P99Milliseconds):F1} |")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**pipeline / direct = {ratio:F2}x from a PNG, {instancesRatio:F2}x from instances** (goal: at least 0.35x; {(met ? "met" : "not met")}).")
            .AppendLine()
            .AppendLine("CPU each request cost, by process, over the measured rounds (every replica of a service summed; the load generator is this benchmark's process):")
            .AppendLine()
            .Append(cpu.Table(
            [
                ("direct V2 infer", "direct", direct.Sum(r => r.Completed)),
                ("predict, PNG", "png", pipeline.Sum(r => r.Completed)),
                ("predict, instances", "instances", pipelineInstances.Sum(r => r.Completed)),
            ]))
            .AppendLine();
        if (File.Exists(NotesPath))
        {
            body.AppendLine().AppendLine(File.ReadAllText(NotesPath).Trim());
        }

        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "Full predict pipeline vs direct V2 infer, mnist", body.ToString());
    }

    /// <summary>What the section says besides this run's figures: how the figures came to be, kept beside the code that writes them.</summary>
    private static string NotesPath => RepositoryPaths.InRoot("bench", "MlPlatform.Bench", "PipelineVersusDirect.md");
}

/// <summary>
/// CPU time of every replica and of this process, summed per service over the runs measured under one label:
/// where a request's cost lands, which a requests/s figure alone cannot tell.
/// </summary>
internal sealed class ProcessCpu(TestApplication app)
{
    private static readonly string[] Services = ["gateway", "preprocessing", "inference", "postprocessing"];

    private readonly Dictionary<string, Dictionary<string, TimeSpan>> _byLabel = [];

    public async Task<LoadResult> MeasureAsync(string label, Func<Task<LoadResult>> run)
    {
        var before = Snapshot();
        var result = await run();
        var after = Snapshot();
        if (!_byLabel.TryGetValue(label, out var totals))
        {
            _byLabel[label] = totals = [];
        }

        foreach (var (name, time) in after)
        {
            totals[name] = totals.GetValueOrDefault(name) + time - before.GetValueOrDefault(name);
        }

        return result;
    }

    /// <summary>Microseconds of CPU per completed request, one row per label measured.</summary>
    public string Table(IEnumerable<(string Name, string Label, int Completed)> rows)
    {
        var table = new StringBuilder()
            .AppendLine("| path | gateway µs | preprocessing µs | inference µs | postprocessing µs | load generator µs | total µs |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, label, completed) in rows)
        {
            var totals = _byLabel.GetValueOrDefault(label) ?? [];
            double PerRequest(string process) => completed == 0 ? 0 : totals.GetValueOrDefault(process).TotalMicroseconds / completed;
            var cells = Services.Append("load generator").Select(PerRequest).ToArray();
            table.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {string.Join(" | ", cells.Select(c => c.ToString("F0", CultureInfo.InvariantCulture)))} | {cells.Sum():F0} |");
        }

        return table.ToString();
    }

    private Dictionary<string, TimeSpan> Snapshot()
    {
        var snapshot = new Dictionary<string, TimeSpan>();
        foreach (var service in Services)
        {
            var total = TimeSpan.Zero;
            foreach (var replica in app.Replicas(service))
            {
                total += replica.ProcessId is { } id ? ProcessorTime(id) : TimeSpan.Zero;
            }

            snapshot[service] = total;
        }

        snapshot["load generator"] = ProcessorTime(Environment.ProcessId);
        return snapshot;
    }

    private static TimeSpan ProcessorTime(int processId)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return process.TotalProcessorTime;
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
        {
            // The replica exited; its time is lost, and the client errors already say something went wrong.
            return TimeSpan.Zero;
        }
    }
}
