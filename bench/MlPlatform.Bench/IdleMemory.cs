using System.Globalization;
using System.Text;
using MlPlatform.AppHost.Testing;

namespace MlPlatform.Bench;

/// <summary>
/// P8: resident memory of every replica of every service once the application model is up and idle, with
/// telemetry going to the dashboard as in <c>dotnet run --project AppHost</c>. The budget is absolute (120 MB a
/// replica), so the figure is given against it; memory at rest does not move with the machine's load as speed does.
/// </summary>
internal static class IdleMemory
{
    public const string Id = "idle-memory";

    private const double BudgetMegabytes = 120;

    public static async Task RunAsync(BenchSettings settings)
    {
        await using var app = await TestApplication.StartAsync(options =>
        {
            options.Dashboard = true;
            options.Environment["Logging__LogLevel__Default"] = "Warning";
            options.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        });

        // Past start-up: the JIT and the first health probes, OTLP exports and metric collections are done.
        var settle = settings.Warmup * 5;
        await Task.Delay(settle);

        var rows = app.Run.Replicas
            .Select(replica => (replica.Name, Service: replica.Service.Name, Megabytes: ProcStatus.ResidentMegabytes(replica.ProcessId ?? throw new InvalidOperationException($"{replica.Name} is not running"))))
            .ToList();
        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"The application model as `dotnet run --project AppHost` starts it (Release build, default replicas, every replica exporting OTLP to the dashboard once a second), idle for {settle.TotalSeconds:F0} s after all were healthy. Resident memory (VmRSS) of each replica's process from /proc. Budget: {BudgetMegabytes:F0} MB a replica.")
            .AppendLine()
            .AppendLine("| replica | resident MB | share of the budget |")
            .AppendLine("| --- | ---: | ---: |");
        foreach (var (name, _, megabytes) in rows)
        {
            body.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {megabytes:F0} | {megabytes / BudgetMegabytes:F2}x |");
            Console.WriteLine($"{name}: {megabytes:F0} MB");
        }

        var largest = rows.MaxBy(r => r.Megabytes);
        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**Largest: {largest.Name} at {largest.Megabytes:F0} MB = {largest.Megabytes / BudgetMegabytes:F2}x the budget** (goal: at most 120 MB, 1.00x; {(largest.Megabytes <= BudgetMegabytes ? "met" : "not met")}).")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "P8 idle resident memory of each service", body.ToString());
    }
}
