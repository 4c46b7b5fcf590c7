using System.Globalization;
using MlPlatform.TestSupport;

namespace MlPlatform.EndToEnd.Tests;

/// <summary>The AppHost as a process, stopped the two ways a person's terminal stops it.</summary>
public sealed class AppHostProcessTests
{
    private static readonly TimeSpan CleanupDeadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Run_AppHostKilledWithSigkill_DcpStopsEveryReplica()
    {
        await using var appHost = await AppHostProcess.StartAsync(TimeSpan.FromMinutes(3));
        var started = await WaitForReplicasAsync(appHost.ProcessId);

        appHost.KillHard();

        var left = await WaitUntilGoneAsync(started);
        Assert.True(left.Count == 0, $"{left.Count} of {started.Count} processes of the run still alive {CleanupDeadline.TotalSeconds:0} s after the AppHost was killed: {string.Join(", ", left)}");
    }

    [Fact]
    public async Task Run_StoppedAsCtrlCWould_StopsEveryReplica()
    {
        var appHost = await AppHostProcess.StartAsync(TimeSpan.FromMinutes(3));
        var started = await WaitForReplicasAsync(appHost.ProcessId);

        // SIGTERM, then a kill only if it lingers past its grace period.
        await appHost.DisposeAsync();

        var left = await WaitUntilGoneAsync(started);
        Assert.True(left.Count == 0, $"{left.Count} of {started.Count} processes of the run still alive after the AppHost stopped: {string.Join(", ", left)}");
    }

    /// <summary>Every process under the DCP that watches <paramref name="appHost"/>, once the seven service processes run.</summary>
    private static async Task<IReadOnlyList<int>> WaitForReplicasAsync(int appHost)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (true)
        {
            var run = ProcessesOfRun(appHost);
            if (run.Count(IsServiceProcess) >= 7)
            {
                return run;
            }

            await Task.Delay(500, deadline.Token);
        }
    }

    private static async Task<IReadOnlyList<int>> WaitUntilGoneAsync(IReadOnlyList<int> processes)
    {
        var deadline = DateTime.UtcNow + CleanupDeadline;
        List<int> alive;
        do
        {
            await Task.Delay(500);
            alive = processes.Where(IsAlive).ToList();
        }
        while (alive.Count > 0 && DateTime.UtcNow < deadline);

        return alive;
    }

    /// <summary>DCP runs detached, watching the AppHost (<c>--monitor PID</c>); the replicas are its descendants.</summary>
    private static List<int> ProcessesOfRun(int appHost)
    {
        var monitor = string.Create(CultureInfo.InvariantCulture, $"--monitor\0{appHost}\0");
        var roots = AllProcesses().Where(pid => CommandLine(pid).Contains(monitor, StringComparison.Ordinal)).ToList();
        var found = new List<int>(roots);
        for (var i = 0; i < found.Count; i++)
        {
            found.AddRange(AllProcesses().Where(pid => ParentOf(pid) == found[i] && !found.Contains(pid)));
        }

        return found;
    }

    private static bool IsServiceProcess(int pid) =>
        Path.GetFileName(CommandLine(pid).Split('\0')[0]) is "MlPlatform.Gateway" or "MlPlatform.Preprocessing" or "MlPlatform.Inference" or "MlPlatform.Postprocessing";

    private static IEnumerable<int> AllProcesses() =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => int.Parse(name!, CultureInfo.InvariantCulture));

    // A zombie (state Z) has exited; only its parent has not collected it yet.
    private static bool IsAlive(int pid) => Stat(pid) is { } stat && stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0] != "Z";

    private static int ParentOf(int pid) =>
        Stat(pid) is { } stat ? int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture) : 0;

    private static string? Stat(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline");
        }
        catch (IOException)
        {
            return "";
        }
    }
}
