using System.Globalization;
using System.Text;
using MlPlatform.Platform.Testing;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// The full predict pipeline (gateway, preprocessing, inference, postprocessing, from a PNG) against a V2 binary
/// infer sent straight to inference, same model, same run. Twice: through DCP's proxies, as
/// <c>dotnet run --project AppHost</c> runs it (the client and every hop go through a proxy in front of the
/// replicas), and with direct replica addresses (a second gateway given every replica's own address, as a
/// Kubernetes Service balances in the kernel with no proxy process in the path).
/// </summary>
internal static class PipelineVersusDirect
{
    public const string Id = "pipeline-vs-direct";

    // CPU a predict summed over every process, and the preprocessing service's share of a PNG predict: goals read
    // against the floors benchmark (one hop, one image's decode and steps).
    private const double PngCpuGoal = 1_000;
    private const double InstancesCpuGoal = 600;
    private const double PreprocessingCpuGoal = 400;

    public static async Task RunAsync(BenchSettings settings)
    {
        await using var app = await BenchApplication.StartAsync();
        await app.WaitUntilAllHealthyAsync(TimeSpan.FromSeconds(120));

        // The same replicas behind a gateway of the benchmark's own that is given their addresses, not the proxies'.
        var addresses = new Dictionary<string, string?>(BenchApplication.QuietLogging()) { ["ASPNETCORE_ENVIRONMENT"] = "Development" };
        foreach (var service in (string[])["preprocessing", "inference", "postprocessing"])
        {
            var replicas = app.Replicas(service);
            for (var i = 0; i < replicas.Count; i++)
            {
                addresses[$"services__{service}__http__{i}"] = replicas[i].Url!.ToString().TrimEnd('/');
            }
        }

        await using var directGateway = await ServiceProcess.StartGatewayAsync(addresses);
        var proxied = await MeasureAsync(settings, app, app.ServiceUrl("gateway"), app.ServiceUrl("inference"), directGateway: null);
        var unproxied = await MeasureAsync(settings, app, directGateway.BaseAddress, app.Replicas("inference")[0].Url!, directGateway.ProcessId);

        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"The application as `dotnet run --project AppHost` starts it through DCP (gateway 1, preprocessing 2, inference 2, postprocessing 2 replicas), Release build, all on this machine. Predict: a 280x280 black-on-white PNG of a held-out digit, or the same digit as KServe V1 `instances` (28x28 numbers, no image work), to `POST /v1/models/mnist:predict` on the gateway. Direct: the same digit as a 1x1x28x28 FP32 V2 binary request to `POST /v2/models/mnist/infer`. {proxied.Concurrency} concurrent clients, each path warmed up, then {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s.")
            .AppendLine()
            .AppendLine("**Through DCP's proxies**, as a user runs it: the client calls the gateway's proxy, the gateway each service's proxy; the direct infer goes to inference's proxy.")
            .AppendLine()
            .Append(proxied.Report)
            .AppendLine()
            .AppendLine("**With direct replica addresses**, as a Kubernetes Service balances in the kernel: a second gateway process, started by this benchmark, is given every replica's own address and balances over them itself; the direct infer goes to one inference replica; the same replicas as above.")
            .AppendLine()
            .Append(unproxied.Report);
        if (File.Exists(NotesPath))
        {
            body.AppendLine().AppendLine(File.ReadAllText(NotesPath).Trim());
        }

        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "Full predict pipeline vs direct V2 infer, mnist", body.ToString());
    }

    private static async Task<(string Report, int Concurrency)> MeasureAsync(BenchSettings settings, RunningPlatform app, Uri gatewayAddress, Uri inferenceAddress, int? directGateway)
    {
        var requests = new MnistRequests();
        using var gateway = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = gatewayAddress };
        // The example consumer of Gateway/appsettings.json (its development limits are never reached here).
        gateway.DefaultRequestHeaders.Add("apikey", "dev-key-change-me");
        using var inference = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = inferenceAddress };
        var concurrency = settings.Concurrency * 2;

        // Seven processes start cold and tier up their JIT on two cores: the pipeline takes 20-30 s to reach its
        // steady rate, a single warm inference replica a few seconds. Each path gets the same, longer warm-up,
        // so round 1 measures the services and not the JIT.
        var warmup = settings.Warmup * 4;
        await LoadGenerator.RunAsync(gateway, requests.PredictPng, concurrency, warmup);
        await LoadGenerator.RunAsync(gateway, requests.PredictInstances, concurrency, warmup);
        await LoadGenerator.RunAsync(inference, requests.Infer, concurrency, warmup);

        var cpu = new ProcessCpu(app, directGateway);
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
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Client errors: {pipeline.Sum(r => r.Failed) + pipelineInstances.Sum(r => r.Failed) + direct.Sum(r => r.Failed)}.")
            .AppendLine()
            .AppendLine("| path | requests/s | p50 ms | p99 ms |")
            .AppendLine("| --- | ---: | ---: | ---: |")
            .AppendLine(CultureInfo.InvariantCulture, $"| direct V2 infer (reference) | {directRate:F1} | {direct.Median(r => r.P50Milliseconds):F1} | {direct.Median(r => r.P99Milliseconds):F1} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| full predict pipeline, PNG | {pipelineRate:F1} | {pipeline.Median(r => r.P50Milliseconds):F1} | {pipeline.Median(r => r.P99Milliseconds):F1} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| full predict pipeline, instances | {instancesRate:F1} | {pipelineInstances.Median(r => r.P50Milliseconds):F1} | {pipelineInstances.Median(r => r.P99Milliseconds):F1} |")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**pipeline / direct = {ratio:F2}x from a PNG, {instancesRatio:F2}x from instances** (goal: at least 0.35x; {(met ? "met" : "not met")}).")
            .AppendLine()
            .AppendLine("CPU each request cost, by process, over the measured rounds (every replica of a service summed; DCP is its API server, controllers and proxies; the load generator is this benchmark's process, which also hosts the AppHost):")
            .AppendLine()
            .Append(cpu.Table(
            [
                ("direct V2 infer", "direct", direct.Sum(r => r.Completed)),
                ("predict, PNG", "png", pipeline.Sum(r => r.Completed)),
                ("predict, instances", "instances", pipelineInstances.Sum(r => r.Completed)),
            ]));
        var pngCpu = cpu.Time("png").TotalMicroseconds / pipeline.Sum(r => r.Completed);
        var instancesCpu = cpu.Time("instances").TotalMicroseconds / pipelineInstances.Sum(r => r.Completed);
        var preprocessingCpu = cpu.Time("png", "preprocessing").TotalMicroseconds / pipeline.Sum(r => r.Completed);
        static string Verdict(double value, double goal) => value <= goal ? "met" : "not met";
        report.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**CPU a predict: {pngCpu:F0} µs from a PNG** (goal: at most {PngCpuGoal:N0} µs; {Verdict(pngCpu, PngCpuGoal)}), **{instancesCpu:F0} µs from instances** (goal: at most {InstancesCpuGoal:N0} µs; {Verdict(instancesCpu, InstancesCpuGoal)}); **preprocessing {preprocessingCpu:F0} µs of a PNG predict** (goal: at most {PreprocessingCpuGoal:N0} µs; {Verdict(preprocessingCpu, PreprocessingCpuGoal)}).");
        return (report.ToString(), concurrency);
    }

    /// <summary>What the section says besides this run's figures: how the figures came to be, kept beside the code that writes them.</summary>
    private static string NotesPath => RepositoryPaths.InRoot("bench", "MlPlatform.Bench", "PipelineVersusDirect.md");
}

/// <summary>
/// CPU time of every replica and of this process, summed per service over the runs measured under one label:
/// where a request's cost lands, which a requests/s figure alone cannot tell.
/// </summary>
internal sealed class ProcessCpu(RunningPlatform app, int? directGateway)
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

    /// <summary>
    /// The CPU time measured under <paramref name="label"/>: of one process as <see cref="Table"/> names them
    /// (a service, <c>dcp</c> or <c>load generator</c>), or of all of them when <paramref name="process"/> is null.
    /// </summary>
    public TimeSpan Time(string label, string? process = null)
    {
        var totals = _byLabel.GetValueOrDefault(label) ?? [];
        if (process is not null)
        {
            return totals.GetValueOrDefault(process);
        }

        var sum = TimeSpan.Zero;
        foreach (var time in totals.Values)
        {
            sum += time;
        }

        return sum;
    }

    /// <summary>Microseconds of CPU per completed request, one row per label measured.</summary>
    public string Table(IEnumerable<(string Name, string Label, int Completed)> rows)
    {
        var table = new StringBuilder()
            .AppendLine("| path | gateway µs | preprocessing µs | inference µs | postprocessing µs | DCP µs | load generator µs | total µs |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, label, completed) in rows)
        {
            var totals = _byLabel.GetValueOrDefault(label) ?? [];
            double PerRequest(string process) => completed == 0 ? 0 : totals.GetValueOrDefault(process).TotalMicroseconds / completed;
            var cells = Services.Append("dcp").Append("load generator").Select(PerRequest).ToArray();
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
                total += RunningPlatform.ServiceProcessId(replica) is { } id ? ProcessorTime(id) : TimeSpan.Zero;
            }

            if (service == "gateway" && directGateway is { } gatewayProcess)
            {
                total += ProcessorTime(gatewayProcess);
            }

            snapshot[service] = total;
        }

        snapshot["dcp"] = DcpProcesses().Aggregate(TimeSpan.Zero, (sum, id) => sum + ProcessorTime(id));

        snapshot["load generator"] = ProcessorTime(Environment.ProcessId);
        return snapshot;
    }

    /// <summary>DCP's processes (its API server, controllers and proxies), found by their program's name.</summary>
    private static List<int> DcpProcesses() =>
        System.Diagnostics.Process.GetProcessesByName("dcp").Select(process =>
        {
            using (process)
            {
                return process.Id;
            }
        }).ToList();

    /// <summary>User and system CPU time of a process so far; zero once it has exited.</summary>
    internal static TimeSpan ProcessorTime(int processId)
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
