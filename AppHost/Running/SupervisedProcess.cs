using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MlPlatform.AppHost.Running;

/// <summary>
/// A process the AppHost starts, watches, and starts again when it exits, always on the same port
/// so the addresses other processes were given stay true.
/// </summary>
public abstract partial class SupervisedProcess
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);
    private const int SigTerm = 15;

    private readonly ConsoleLog _console;
    private readonly TaskCompletionSource _firstHealthy = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _supervisionLock = new();
    private Process? _process;
    private volatile bool _stopping;
    private Task _supervision = Task.CompletedTask;
    private CancellationTokenSource? _stopRequested;

    private protected SupervisedProcess(int port, Uri url, IReadOnlyDictionary<string, string> environment, ConsoleLog console)
    {
        Port = port;
        Url = url;
        Environment = environment;
        _console = console;
    }

    /// <summary>The prefix of its console lines, for example <c>inference-0</c>.</summary>
    public abstract string Name { get; }

    public int Port { get; }

    public Uri Url { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    public ReplicaState State { get; private set; } = ReplicaState.NotStarted;

    public int? ProcessId => _process is { } process && State is not (ReplicaState.Exited or ReplicaState.Stopped or ReplicaState.NotStarted) ? process.Id : null;

    public int RestartCount { get; private set; }

    public int? LastExitCode { get; private set; }

    /// <summary>Completes the first time the process answers its health check.</summary>
    public Task FirstHealthy => _firstHealthy.Task;

    /// <summary>What to run; throws <see cref="InvalidOperationException"/> when it cannot be found.</summary>
    private protected abstract ProcessStartInfo CreateStartInfo();

    /// <summary>One health check; false or an exception means not healthy (yet).</summary>
    private protected abstract Task<bool> IsHealthyAsync(CancellationToken cancellationToken);

    /// <summary>Completes when supervision ends: after <see cref="StopAsync"/>, or when the process could not be started.</summary>
    internal Task Supervision => _supervision;

    /// <summary>
    /// Starts the process and keeps it running until <see cref="StopAsync"/>; false when it is
    /// already supervised, so a start pressed twice starts one process.
    /// </summary>
    internal bool Supervise(CancellationToken stopping)
    {
        lock (_supervisionLock)
        {
            if (!_supervision.IsCompleted || stopping.IsCancellationRequested)
            {
                return false;
            }

            _stopping = false;
            _stopRequested?.Dispose();
            // Its own token as well as the run's, so a stop during a restart back-off ends the wait at once.
            _stopRequested = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            _supervision = SuperviseAsync(_stopRequested.Token);
            return true;
        }
    }

    private Task SuperviseAsync(CancellationToken stopping) => Task.Run(async () =>
    {
        var backoff = FirstBackoff;
        Stopwatch? sinceImmediateRestart = null;
        while (!_stopping && !stopping.IsCancellationRequested)
        {
            var started = Stopwatch.StartNew();
            State = RestartCount == 0 ? ReplicaState.Starting : ReplicaState.Restarting;
            try
            {
                // The exited process object is disposed only once the new one replaces it: a stop or a kill that
                // comes in between must find an exited process, not a disposed one (whose HasExited throws).
                var exitedProcess = Interlocked.Exchange(ref _process, Launch());
                exitedProcess?.Dispose();
            }
            catch (Exception exception) when (exception is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                _console.Note($"{Name} could not start: {exception.Message}");
                _firstHealthy.TrySetException(exception);
                State = ReplicaState.Exited;
                return;
            }

            // A stop that came while this process was being launched looked for a process to end before there was
            // one, and now waits for supervision to end: end the process here.
            if (_stopping)
            {
                Kill();
            }

            using var exited = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var health = WatchHealthAsync(exited.Token);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await exited.CancelAsync().ConfigureAwait(false);
            await health.ConfigureAwait(false);

            LastExitCode = _process.ExitCode;
            if (_stopping || stopping.IsCancellationRequested)
            {
                break;
            }

            // Running or Unhealthy only once a health check has passed since this launch.
            var cameUpHealthy = State is ReplicaState.Running or ReplicaState.Unhealthy;
            State = ReplicaState.Exited;
            // A replica that had come up healthy and then died is started again at once, as a crash is met in a
            // cluster: every second it is down, the others carry its load. That happens once a minute at most; a
            // process that dies before it is healthy, or soon again, waits longer each time, so a crash loop
            // cannot keep the machine busy starting it.
            backoff = started.Elapsed > StableRun ? FirstBackoff : backoff;
            var immediate = cameUpHealthy && (sinceImmediateRestart is null || sinceImmediateRestart.Elapsed > StableRun);
            var delay = immediate ? TimeSpan.Zero : backoff;
            _console.Note(immediate
                ? $"{Name} exited with code {LastExitCode}; restarting"
                : $"{Name} exited with code {LastExitCode}; restarting in {delay.TotalSeconds:0.#} s");
            try
            {
                await Task.Delay(delay, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (immediate)
            {
                sinceImmediateRestart = Stopwatch.StartNew();
            }
            else
            {
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }

            RestartCount++;
        }

        State = ReplicaState.Stopped;
    }, CancellationToken.None);

    private Process Launch()
    {
        var startInfo = CreateStartInfo();
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.UseShellExecute = false;
        foreach (var (key, value) in Environment)
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, isError: true);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is not null)
        {
            _console.Write(Name, line, isError);
        }
    }

    private async Task WatchHealthAsync(CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromMilliseconds(200);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await IsHealthyAsync(cancellationToken).ConfigureAwait(false))
                {
                    State = ReplicaState.Running;
                    _firstHealthy.TrySetResult();
                    interval = TimeSpan.FromSeconds(2);
                }
                else if (State == ReplicaState.Running)
                {
                    State = ReplicaState.Unhealthy;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            // A check that timed out is a failed check, not the end of watching.
            catch (Exception exception) when (exception is HttpRequestException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                State = State == ReplicaState.Running ? ReplicaState.Unhealthy : State;
            }

            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Kills the process at once, as a crash would; the supervisor then restarts it.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// Asks the process to stop (SIGTERM), then kills it if it has not after <paramref name="grace"/>,
    /// and returns once its supervisor has ended: it stays stopped until started again.
    /// </summary>
    internal async Task StopAsync(TimeSpan grace)
    {
        _stopping = true;
        lock (_supervisionLock)
        {
            _stopRequested?.Cancel();
        }

        await TerminateAsync(grace).ConfigureAwait(false);
        await _supervision.ConfigureAwait(false);
        State = ReplicaState.Stopped;
    }

    private async Task TerminateAsync(TimeSpan grace)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            _ = SendSignal(process.Id, SigTerm);
        }

        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
