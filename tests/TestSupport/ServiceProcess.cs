using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace MlPlatform.TestSupport;

/// <summary>
/// A service started from its build output as a real process on a free loopback port, the way the
/// AppHost starts it. The port comes from Kestrel itself (<c>--urls http://127.0.0.1:0</c>), so two
/// tests never race for one. The gateway's management port is a setting, so it is a free port picked
/// here (<see cref="StartGatewayAsync"/>).
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const string ListeningMarker = "Now listening on: ";

    /// <summary>The gateway's setting for the port of its own <c>/health</c>, <c>/alive</c> and <c>/metrics</c>.</summary>
    public const string GatewayManagementPortVariable = "Gateway__ManagementPort";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceProcess(Process process)
    {
        _process = process;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A client for the service; disposed with it.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>
    /// Where the service answers <c>/health</c>, <c>/alive</c> and <c>/metrics</c>: the gateway's management port, or
    /// <see cref="BaseAddress"/> for a service that serves them beside its API.
    /// </summary>
    public Uri ManagementAddress { get; private set; } = null!;

    /// <summary>A client for <see cref="ManagementAddress"/>; disposed with the service.</summary>
    public HttpClient ManagementClient { get; private set; } = null!;

    public bool HasExited => _process.HasExited;

    public int ProcessId => _process.Id;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>
    /// Starts a service and waits until <paramref name="readyPath"/> answers 200: on <paramref name="managementPort"/>,
    /// at the host of the service's address, when given; on the service's address otherwise.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(
        string projectDirectory,
        string assemblyName,
        IReadOnlyDictionary<string, string?>? environment = null,
        string readyPath = "/health",
        TimeSpan? timeout = null,
        string? workingDirectory = null,
        int? managementPort = null)
    {
        var service = Launch(projectDirectory, assemblyName, environment, workingDirectory);
        try
        {
            await service.WaitUntilReadyAsync(readyPath, managementPort, timeout ?? TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            return service;
        }
        catch
        {
            await service.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Starts the gateway with a management port (the one <paramref name="environment"/> sets, or a free one) and waits
    /// until its <c>/health</c> there answers 200.
    /// </summary>
    public static Task<ServiceProcess> StartGatewayAsync(IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var settings = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>());
        if (settings.GetValueOrDefault(GatewayManagementPortVariable) is not { Length: > 0 } port)
        {
            port = LoopbackPort.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings[GatewayManagementPortVariable] = port;
        }

        return StartAsync("Gateway", "MlPlatform.Gateway", settings, timeout: timeout, managementPort: int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Starts a service without waiting for it, for tests of start-up failures.</summary>
    /// <param name="workingDirectory">The process's working directory; the repository root unless given.</param>
    public static ServiceProcess Launch(
        string projectDirectory, string assemblyName, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        var assembly = RepositoryPaths.ProjectAssembly(projectDirectory, assemblyName);
        startInfo.ArgumentList.Add(assembly);
        // The service reads the appsettings.json beside its assembly, as it would when deployed.
        startInfo.Environment["DOTNET_CONTENTROOT"] = Path.GetDirectoryName(assembly);
        startInfo.ArgumentList.Add("--urls");
        startInfo.ArgumentList.Add("http://127.0.0.1:0");

        // A test sees the service as a fresh machine would, not as the developer's shell has it.
        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Development";
        startInfo.Environment["Logging__Console__FormatterName"] = "simple";
        startInfo.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var service = new ServiceProcess(process);
        process.OutputDataReceived += (_, e) => service.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => service.OnLine(e.Data);
        process.Exited += (_, _) => service._listening.TrySetException(
            new InvalidOperationException($"{assemblyName} exited with code {process.ExitCode} before it listened:{Environment.NewLine}{service.Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        var marker = line.IndexOf(ListeningMarker, StringComparison.Ordinal);
        if (marker >= 0 && Uri.TryCreate(line[(marker + ListeningMarker.Length)..].Trim(), UriKind.Absolute, out var address))
        {
            _listening.TrySetResult(address);
        }
    }

    private async Task WaitUntilReadyAsync(string readyPath, int? managementPort, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        // The first address Kestrel reports: the public one, which the services listen on before any port of their own.
        BaseAddress = await _listening.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        ManagementAddress = managementPort is { } port ? new UriBuilder(BaseAddress) { Port = port }.Uri : BaseAddress;
        ManagementClient = new HttpClient { BaseAddress = ManagementAddress, Timeout = TimeSpan.FromSeconds(60) };

        while (true)
        {
            deadline.Token.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with code {_process.ExitCode}:{Environment.NewLine}{Output}");
            }

            try
            {
                using var response = await ManagementClient.GetAsync(readyPath, deadline.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100, deadline.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the process to end by itself.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        ManagementClient?.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }
}
