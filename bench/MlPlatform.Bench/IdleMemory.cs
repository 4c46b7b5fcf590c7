using System.Globalization;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// P8: resident memory of every replica of every service once the application is up and idle, started as
/// <c>dotnet run --project AppHost</c> starts it (the AppHost, DCP, the Aspire dashboard receiving every replica's
/// telemetry), against the budget (120 MB a replica) and against the smallest ASP.NET Core service started in the
/// same run, which shows what any service on this runtime costs before it does anything. The AppHost, DCP's
/// processes and the dashboard are listed too: they are what a local run costs on top of the services.
/// </summary>
internal static class IdleMemory
{
    public const string Id = "idle-memory";

    private const double BudgetMegabytes = 120;

    public static async Task RunAsync(BenchSettings settings)
    {
        // The AppHost's own logging stays as it is: it says when the application has started.
        await using var appHost = await AppHostProcess.StartAsync(TimeSpan.FromMinutes(3));
        await WaitUntilServicesRunAsync();

        await using var reference = await ServiceProcess.StartAsync("bench/MlPlatform.Bench", "MlPlatform.Bench", new Dictionary<string, string?> { [EmptyWebApp.RoleVariable] = EmptyWebApp.Role });
        using (var probe = new HttpClient { BaseAddress = reference.BaseAddress })
        {
            // Answered a few requests, as the replicas have answered their health probes.
            for (var i = 0; i < 10; i++)
            {
                await probe.GetStringAsync("/health");
            }
        }

        // Past start-up: the JIT and the first health probes, OTLP exports and metric collections are done.
        var settle = settings.Warmup * 5;
        await Task.Delay(settle);
        var referenceMegabytes = ProcStatus.ResidentMegabytes(reference.ProcessId);

        var processes = LocalRunProcesses(appHost.ProcessId);
        var rows = processes.Where(p => p.IsReplica)
            .Select(p => (p.Name, Megabytes: ProcStatus.ResidentMegabytes(p.Id), Proportional: ProcStatus.ProportionalMegabytes(p.Id)))
            .ToList();
        var hosting = processes.Where(p => !p.IsReplica)
            .Select(p => (p.Name, Megabytes: ProcStatus.ResidentMegabytes(p.Id), Proportional: ProcStatus.ProportionalMegabytes(p.Id)))
            .ToList();
        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"The application as `dotnet run --project AppHost` starts it (Release build, default replicas, DCP, the Aspire dashboard, every replica exporting OTLP to it once a second), idle for {settle.TotalSeconds:F0} s after all were healthy. Resident memory (VmRSS) of each replica's process from /proc. Budget: {BudgetMegabytes:F0} MB a replica. Reference: the smallest ASP.NET Core service (`CreateSlimBuilder`, one `/health` endpoint, same runtime, Release), started and idle alongside.")
            .AppendLine()
            .AppendLine("| process | resident MB (RSS) | share of the budget | ratio to the empty service | proportional MB (PSS) |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: |")
            .AppendLine(CultureInfo.InvariantCulture, $"| empty ASP.NET Core service (reference) | {referenceMegabytes:F0} | {referenceMegabytes / BudgetMegabytes:F2}x | 1.00x | {ProcStatus.ProportionalMegabytes(reference.ProcessId):F0} |");
        foreach (var (name, megabytes, proportional) in rows)
        {
            body.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {megabytes:F0} | {megabytes / BudgetMegabytes:F2}x | {megabytes / referenceMegabytes:F2}x | {proportional:F0} |");
            Console.WriteLine($"{name}: {megabytes:F0} MB");
        }

        body.AppendLine()
            .AppendLine("What the local run adds (not replicas, so outside the budget): the AppHost, DCP's API server, controllers, proxies and process monitors, the Aspire dashboard, and each replica's `dotnet run` launcher.")
            .AppendLine()
            .AppendLine("| process | resident MB (RSS) | proportional MB (PSS) |")
            .AppendLine("| --- | ---: | ---: |");
        foreach (var group in hosting.GroupBy(h => h.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            body.AppendLine(CultureInfo.InvariantCulture, $"| {group.Key}{(group.Count() > 1 ? $" (x{group.Count()}, summed)" : "")} | {group.Sum(h => h.Megabytes):F0} | {group.Sum(h => h.Proportional):F0} |");
        }

        body.AppendLine(CultureInfo.InvariantCulture, $"| **all of the local run** | {rows.Sum(r => r.Megabytes) + hosting.Sum(h => h.Megabytes):F0} | {rows.Sum(r => r.Proportional) + hosting.Sum(h => h.Proportional):F0} |");

        var largest = rows.MaxBy(r => r.Megabytes);
        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**Largest: {largest.Name} at {largest.Megabytes:F0} MB = {largest.Megabytes / BudgetMegabytes:F2}x the budget** (goal: at most 120 MB, 1.00x; {(largest.Megabytes <= BudgetMegabytes ? "met" : "not met")}).")
            .AppendLine()
            .AppendLine("RSS counts every page a process maps in full, including the runtime's and ASP.NET Core's files that all replicas share; PSS divides shared pages among the processes mapping them. In an inference replica, about 18 MB of RSS is ONNX Runtime's native library, about 10 MB the native heap its session holds, and 17 MB the JIT's code (W^X double mapping); the GC heap commits about 15 MB (`dotnet_gc_last_collection_memory_committed_size_bytes` on /metrics). Exporting OTLP costs each replica some 20 MB (an inference replica with every signal's exporter but the metrics one is about 8-10 MB smaller): the second metric reader's streams, the exporter's buffers, code and HTTP/2 client.")
            .AppendLine()
            .AppendLine("Profiled with /proc/PID/smaps, `dotnet-gcdump` and assembly-load stacks, and fixed: the SDK's metric streams were 13.5 MB before the framework instruments were capped at 500 attribute sets and the runtime's, Kestrel's and the memory pool's (fixed attribute sets) at 50 (`ServiceDefaults/Extensions.cs`); pre-, postprocessing and inference use the slim host builder, which leaves out HTTPS and HTTP/3 set-up (the full one captured a stack trace with source lines at start, loading System.Reflection.Metadata and reading PDBs) and IIS integration. Inference went from 127 MB to 122-123 MB with the first cap, and to 118-119 MB with the smaller cap and the slim builder (runs of `./bench/run.sh idle-memory`). Tried without effect: `malloc_trim` and an aggressive GC after the model loads, the DI container's reflection engine instead of emitted IL, ReadyToRun code (larger: its images are mapped too), ONNX Runtime without its arena, workstation and non-concurrent GC, smaller gen0 budgets, `MALLOC_ARENA_MAX=2`, W^X off.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "P8 idle resident memory of each service", body.ToString());
    }

    private sealed record LocalProcess(int Id, string Name, bool IsReplica);

    private static readonly string[] ServiceBinaries = ["MlPlatform.Gateway", "MlPlatform.Preprocessing", "MlPlatform.Inference", "MlPlatform.Postprocessing"];

    /// <summary>Waits until two replicas of each service but the gateway, and the gateway, run as processes.</summary>
    private static async Task WaitUntilServicesRunAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (LocalRunProcesses(Environment.ProcessId).Count(p => p.IsReplica) < 7)
        {
            await Task.Delay(500, deadline.Token);
        }

        // Every replica healthy: the gateway is the last to start and only once the others are.
        await Task.Delay(TimeSpan.FromSeconds(10), deadline.Token);
    }

    /// <summary>The processes of the local run, by their command lines in /proc.</summary>
    private static List<LocalProcess> LocalRunProcesses(int appHost)
    {
        var found = new List<LocalProcess>();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                continue;
            }

            string[] arguments;
            try
            {
                arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }
            catch (IOException)
            {
                continue;
            }

            if (arguments.Length == 0)
            {
                continue;
            }

            var program = Path.GetFileName(arguments[0]);
            var service = ServiceBinaries.FirstOrDefault(binary => program == binary);
            if (service is not null)
            {
                var name = service["MlPlatform.".Length..].ToLowerInvariant();
                var index = counts[name] = counts.GetValueOrDefault(name, -1) + 1;
                found.Add(new LocalProcess(id, $"{name}-{index}", IsReplica: true));
            }
            else if (id == appHost)
            {
                found.Add(new LocalProcess(id, "AppHost", IsReplica: false));
            }
            else if (program == "dcp")
            {
                found.Add(new LocalProcess(id, $"dcp {(arguments.Length > 1 ? arguments[1] : "")}".Trim(), IsReplica: false));
            }
            else if (arguments.Any(a => a.EndsWith("Aspire.Dashboard.dll", StringComparison.Ordinal)) || program == "Aspire.Dashboard")
            {
                found.Add(new LocalProcess(id, "Aspire dashboard", IsReplica: false));
            }
            else if (program == "dotnet" && arguments.Contains("run") && arguments.Any(a => a.Contains("MlPlatform.", StringComparison.Ordinal)))
            {
                found.Add(new LocalProcess(id, "dotnet run (replica launcher)", IsReplica: false));
            }
        }

        return found.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
    }
}
