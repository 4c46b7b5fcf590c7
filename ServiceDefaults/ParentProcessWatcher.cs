using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Stops the service when the process that started it is gone. A local orchestrator that is killed
/// outright (SIGKILL, a crashed terminal) cannot stop its children itself; with this, none outlive it.
/// Active only when <c>MLPLATFORM_PARENT_PID</c> is set, which the AppHost does and Kubernetes does not.
/// </summary>
internal sealed partial class ParentProcessWatcher(IConfiguration configuration, IHostApplicationLifetime lifetime, ILogger<ParentProcessWatcher> logger)
    : BackgroundService
{
    public const string ParentPidVariable = "MLPLATFORM_PARENT_PID";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!int.TryParse(configuration[ParentPidVariable], out var parentPid))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            if (!IsAlive(parentPid))
            {
                LogParentGone(logger, parentPid);
                lifetime.StopApplication();
                return;
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        // A parent that died is at once replaced as our parent (by init or a subreaper), even
        // before anyone reaps it; looking the old PID up would still find its zombie.
        if (OperatingSystem.IsLinux())
        {
            return GetParentProcessId() == pid;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetParentProcessId();

    [LoggerMessage(1, LogLevel.Warning, "The process that started this service ({ParentPid}) is gone; stopping")]
    private static partial void LogParentGone(ILogger logger, int parentPid);
}
