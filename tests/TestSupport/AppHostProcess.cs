using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace MlPlatform.TestSupport;

/// <summary>
/// The AppHost started from its build output as a person starts it with <c>dotnet run --project AppHost</c>: DCP,
/// the Aspire dashboard, every replica. Free ports for the dashboard and the gateway (the other services' proxies
/// always take free ones), so a platform already running here is no obstacle. Stopped as Ctrl+C would stop it, then killed with
/// every child if it lingers.
/// </summary>
public sealed partial class AppHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _loginUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AppHostProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The printed login address, with this run's browser token.</summary>
    public Uri LoginUrl { get; private set; } = null!;

    /// <summary>The dashboard's root, for pages other than the login.</summary>
    public Uri DashboardUrl => new(LoginUrl.GetLeftPart(UriPartial.Authority) + "/");

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the AppHost and returns once it printed the dashboard's login address and that it started.</summary>
    /// <param name="timeout">How long start-up may take.</param>
    /// <param name="arguments">More command-line settings, such as <c>--AppHost:Replicas:gateway=2</c>.</param>
    public static async Task<AppHostProcess> StartAsync(TimeSpan timeout, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        startInfo.ArgumentList.Add(RepositoryPaths.ProjectAssembly("AppHost", "MlPlatform.AppHost"));
        startInfo.ArgumentList.Add($"--AppHost:GatewayPort={LoopbackPort.Free()}");
        startInfo.ArgumentList.Add($"--AppHost:GatewayGrpcPort={LoopbackPort.Free()}");
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("ASPIRE_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        // What the AppHost's launch profile sets for `dotnet run`, on free ports.
        startInfo.Environment["NO_COLOR"] = "1";
        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Development";
        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        startInfo.Environment["ASPNETCORE_URLS"] = $"http://localhost:{LoopbackPort.Free()}";
        startInfo.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{LoopbackPort.Free()}";
        startInfo.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://localhost:{LoopbackPort.Free()}";
        startInfo.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";

        var appHost = new AppHostProcess(new Process { StartInfo = startInfo, EnableRaisingEvents = true });
        appHost._process.OutputDataReceived += (_, e) => appHost.OnLine(e.Data);
        appHost._process.ErrorDataReceived += (_, e) => appHost.OnLine(e.Data);
        appHost._process.Exited += (_, _) => appHost._started.TrySetException(new InvalidOperationException($"The AppHost exited with code {appHost._process.ExitCode} before it started:{Environment.NewLine}{appHost.Output}"));
        appHost._process.Start();
        appHost._process.BeginOutputReadLine();
        appHost._process.BeginErrorReadLine();
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            await appHost._started.Task.WaitAsync(deadline.Token);
            appHost.LoginUrl = await appHost._loginUrl.Task.WaitAsync(deadline.Token);
            return appHost;
        }
        catch (OperationCanceledException)
        {
            await appHost.DisposeAsync();
            throw new TimeoutException($"The AppHost had not started within {timeout.TotalSeconds:0} s:{Environment.NewLine}{appHost.Output}");
        }
        catch
        {
            await appHost.DisposeAsync();
            throw;
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        // "Login to the dashboard at http://localhost:18888/login?t=...", as Aspire prints it.
        if (LoginLine().Match(line) is { Success: true } match && Uri.TryCreate(match.Groups["url"].Value, UriKind.Absolute, out var url))
        {
            _loginUrl.TrySetResult(url);
        }

        if (line.Contains("Distributed application started", StringComparison.Ordinal))
        {
            _started.TrySetResult();
        }
    }

    /// <summary>Kills the AppHost alone with SIGKILL, as a crashed terminal would; its children are left to DCP.</summary>
    public void KillHard() => _ = Signal(_process.Id, 9);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM lets the AppHost stop its replicas itself; the kill is for one that does not.
            _ = Signal(_process.Id, 15);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Login to the dashboard at (?<url>http\S+/login\?t=[0-9a-f]+)")]
    private static partial Regex LoginLine();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Signal(int pid, int signal);
}
