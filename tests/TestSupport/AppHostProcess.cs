using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace MlPlatform.TestSupport;

/// <summary>
/// The AppHost started from its build output as a person starts it, on free ports, with its
/// dashboard. Stopped as Ctrl+C would stop it, then killed with every child if it lingers.
/// </summary>
public sealed partial class AppHostProcess : IAsyncDisposable
{
    private const string DashboardMarker = "Dashboard: ";
    private const string OtlpMarker = "OTLP receiver: ";
    private const string UpMarker = "MlPlatform is up";

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _loginUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AppHostProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The printed login address, with this run's browser token.</summary>
    public Uri LoginUrl { get; private set; } = null!;

    /// <summary>The dashboard's root, for pages other than the login.</summary>
    public Uri DashboardUrl => new(LoginUrl.GetLeftPart(UriPartial.Authority) + "/");

    /// <summary>The dashboard's OTLP/gRPC receiver, as printed at start.</summary>
    public Uri? OtlpGrpcEndpoint { get; private set; }

    public int ProcessId => _process.Id;

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

    /// <summary>Starts the AppHost and returns once it printed that the platform is up.</summary>
    /// <param name="timeout">How long start-up may take.</param>
    /// <param name="arguments">More command-line settings, such as <c>--Dashboard:OtlpApiKey=...</c>.</param>
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
        // Free ports everywhere, so a dashboard or gateway already running here is no obstacle.
        startInfo.ArgumentList.Add("--AppHost:GatewayPort=0");
        startInfo.ArgumentList.Add("--Dashboard:UiPort=0");
        startInfo.ArgumentList.Add("--Dashboard:OtlpGrpcPort=0");
        startInfo.ArgumentList.Add("--Dashboard:OtlpHttpPort=0");
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["NO_COLOR"] = "1";
        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        var appHost = new AppHostProcess(new Process { StartInfo = startInfo, EnableRaisingEvents = true });
        appHost._process.OutputDataReceived += (_, e) => appHost.OnLine(e.Data);
        appHost._process.ErrorDataReceived += (_, e) => appHost.OnLine(e.Data);
        appHost._process.Exited += (_, _) => appHost._up.TrySetException(new InvalidOperationException($"The AppHost exited with code {appHost._process.ExitCode} before it was up:{Environment.NewLine}{appHost.Output}"));
        appHost._process.Start();
        appHost._process.BeginOutputReadLine();
        appHost._process.BeginErrorReadLine();
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            appHost.LoginUrl = await appHost._loginUrl.Task.WaitAsync(deadline.Token);
            await appHost._up.Task.WaitAsync(deadline.Token);
            return appHost;
        }
        catch (OperationCanceledException)
        {
            await appHost.DisposeAsync();
            throw new TimeoutException($"The AppHost was not up within {timeout.TotalSeconds:0} s:{Environment.NewLine}{appHost.Output}");
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

        // "apphost | Dashboard: http://localhost:40123/login?t=..." and, in the table, "Dashboard: ...".
        var marker = line.IndexOf(DashboardMarker, StringComparison.Ordinal);
        if (marker >= 0 && Uri.TryCreate(line[(marker + DashboardMarker.Length)..].Trim(), UriKind.Absolute, out var url) && url.AbsolutePath == "/login")
        {
            _loginUrl.TrySetResult(url);
        }

        // "OTLP receiver: http://localhost:40124/ (gRPC), http://localhost:40125/ (HTTP/protobuf), header x-otlp-api-key".
        var otlp = line.IndexOf(OtlpMarker, StringComparison.Ordinal);
        if (otlp >= 0 && Uri.TryCreate(line[(otlp + OtlpMarker.Length)..].Split(' ')[0], UriKind.Absolute, out var endpoint))
        {
            OtlpGrpcEndpoint = endpoint;
        }

        if (line.Contains(UpMarker, StringComparison.Ordinal))
        {
            _up.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM lets the AppHost stop its replicas itself; the kill is for one that does not.
            _ = Signal(_process.Id, 15);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
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

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Signal(int pid, int signal);
}
