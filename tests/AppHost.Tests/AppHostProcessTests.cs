using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.AppHost.Tests;

/// <summary>The AppHost executable as a person runs it: start, table, prefixed output, Ctrl+C, no orphans.</summary>
public sealed partial class AppHostProcessTests
{
    [Fact]
    public async Task Run_CtrlC_StopsEveryReplicaAndLeavesNoOrphan()
    {
        using var appHost = await StartAppHostAsync();
        var children = ChildProcessIds(appHost.Process.Id);
        Assert.True(children.Count >= 7, $"expected 7 replicas, found {children.Count}");

        Assert.Equal(0, Signal(appHost.Process.Id, 2));
        Assert.True(appHost.Process.WaitForExit(TimeSpan.FromSeconds(30)), "the AppHost did not stop after SIGINT");

        Assert.Equal(0, appHost.Process.ExitCode);
        Assert.DoesNotContain(children, IsRunning);
        var output = appHost.Output.ToString();
        Assert.Contains("inference-0", output);
        Assert.Contains("inference-1", output);
        Assert.Contains("gateway-0", output);
    }

    [Fact]
    public async Task Run_AppHostKilled_ReplicasStopByThemselves()
    {
        using var appHost = await StartAppHostAsync();
        var children = ChildProcessIds(appHost.Process.Id);

        appHost.Process.Kill();
        await appHost.Process.WaitForExitAsync();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (children.Any(IsRunning) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.DoesNotContain(children, IsRunning);
    }

    private sealed class RunningAppHost(Process process, StringBuilder output) : IDisposable
    {
        public Process Process { get; } = process;

        public StringBuilder Output { get; } = output;

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }

            Process.Dispose();
        }
    }

    private static async Task<RunningAppHost> StartAppHostAsync()
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        startInfo.ArgumentList.Add(RepositoryPaths.ProjectAssembly("AppHost", "MlPlatform.AppHost"));
        startInfo.ArgumentList.Add("--AppHost:GatewayPort=0");
        // Free ports, so a dashboard already running on this machine (or another test's) is no obstacle.
        startInfo.ArgumentList.Add("--Dashboard:UiPort=0");
        startInfo.ArgumentList.Add("--Dashboard:OtlpGrpcPort=0");
        startInfo.ArgumentList.Add("--Dashboard:OtlpHttpPort=0");
        startInfo.Environment["NO_COLOR"] = "1";

        var output = new StringBuilder();
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = startInfo };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (line.Contains("MlPlatform is up", StringComparison.Ordinal))
            {
                up.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var running = new RunningAppHost(process, output);
        try
        {
            await up.Task.WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            running.Dispose();
            throw new TimeoutException($"The AppHost did not come up:{Environment.NewLine}{output}");
        }

        return running;
    }

    private static List<int> ChildProcessIds(int parent)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // /proc/{pid}/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == parent)
                {
                    children.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return children;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // A zombie has exited and only waits to be reaped.
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Signal(int pid, int signal);
}
