using System.Diagnostics;
using System.Runtime.InteropServices;
using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost.Running;

/// <summary>
/// One replica of a service: a process the AppHost starts, watches, and starts again when it exits,
/// always on the same port so the addresses other services were given stay true.
/// </summary>
public sealed partial class Replica
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);

    private readonly ConsoleLog _console;
    private readonly TaskCompletionSource _firstHealthy = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? _process;
    private volatile bool _stopping;

    internal Replica(ServiceResource service, int index, int port, string host, IReadOnlyDictionary<string, string> environment, ConsoleLog console)
    {
        Service = service;
        Index = index;
        Port = port;
        Url = new Uri($"http://{host}:{port}");
        Environment = environment;
        _console = console;
    }

    public ServiceResource Service { get; }

    public int Index { get; }

    /// <summary><c>{service}-{index}</c>: the prefix of its console lines.</summary>
    public string Name => $"{Service.Name}-{Index}";

    public int Port { get; }

    public Uri Url { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    public ReplicaState State { get; private set; } = ReplicaState.NotStarted;

    public int? ProcessId => _process is { } process && State is not (ReplicaState.Exited or ReplicaState.Stopped or ReplicaState.NotStarted) ? process.Id : null;

    public int RestartCount { get; private set; }

    public int? LastExitCode { get; private set; }

    /// <summary>Completes the first time the replica answers its health check.</summary>
    public Task FirstHealthy => _firstHealthy.Task;

    /// <summary>Starts the replica and keeps it running until <see cref="StopAsync"/>.</summary>
    internal Task SuperviseAsync(HttpClient healthClient, CancellationToken stopping) => Task.Run(async () =>
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!_stopping && !stopping.IsCancellationRequested)
        {
            var started = Stopwatch.StartNew();
            State = RestartCount == 0 ? ReplicaState.Starting : ReplicaState.Restarting;
            try
            {
                _process?.Dispose();
                _process = Launch();
            }
            catch (Exception exception) when (exception is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                _console.Note($"{Name} could not start: {exception.Message}");
                _firstHealthy.TrySetException(exception);
                State = ReplicaState.Exited;
                return;
            }

            using var exited = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var health = WatchHealthAsync(healthClient, exited.Token);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await exited.CancelAsync().ConfigureAwait(false);
            await health.ConfigureAwait(false);

            LastExitCode = _process.ExitCode;
            if (_stopping || stopping.IsCancellationRequested)
            {
                break;
            }

            State = ReplicaState.Exited;
            // A replica that ran a good while before dying gets a quick restart; one that keeps dying waits longer each time.
            backoff = started.Elapsed > StableRun ? TimeSpan.FromSeconds(1) : backoff;
            _console.Note($"{Name} exited with code {LastExitCode}; restarting in {backoff.TotalSeconds:0} s");
            try
            {
                await Task.Delay(backoff, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            RestartCount++;
        }

        State = ReplicaState.Stopped;
    }, CancellationToken.None);

    private Process Launch()
    {
        var assembly = BuildLayout.ServiceAssembly(Service.ProjectDirectory, Service.AssemblyName);
        if (!File.Exists(assembly))
        {
            throw new InvalidOperationException($"{assembly} is missing; build the solution (dotnet build MlPlatform.sln) or run the AppHost with dotnet run --project AppHost");
        }

        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = BuildLayout.Root,
        };
        startInfo.ArgumentList.Add(assembly);
        // appsettings.json sits beside the assembly; without this the host would look in the working directory.
        startInfo.Environment["DOTNET_CONTENTROOT"] = Path.GetDirectoryName(assembly);
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

    private async Task WatchHealthAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var path = Service.HealthCheckPath ?? "/";
        var interval = TimeSpan.FromMilliseconds(200);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var response = await client.GetAsync(new Uri(Url, path), cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
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
            catch (HttpRequestException)
            {
                State = State == ReplicaState.Running ? ReplicaState.Unhealthy : State;
            }
            catch (OperationCanceledException)
            {
                return;
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

    /// <summary>Asks the process to stop (SIGTERM), then kills it if it has not after <paramref name="grace"/>.</summary>
    internal async Task StopAsync(TimeSpan grace)
    {
        _stopping = true;
        if (_process is not { HasExited: false } process)
        {
            State = ReplicaState.Stopped;
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

        State = ReplicaState.Stopped;
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
