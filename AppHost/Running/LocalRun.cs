using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost.Running;

/// <summary>Settings of a local run that are not part of the application model.</summary>
public sealed class LocalRunOptions
{
    /// <summary>Extra variables for every replica (tests turn on request logging with it).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>How long a service may take to answer its health check the first time.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Whether replica output is echoed to this process's console.</summary>
    public bool EchoConsole { get; set; } = true;
}

/// <summary>
/// Runs the application model on this machine, as .NET Aspire's orchestrator does: every replica
/// from its build output on its own loopback port, with the service-discovery and OpenTelemetry
/// variables, started in dependency order once what it waits for is healthy.
/// </summary>
public sealed class LocalRun : IAsyncDisposable
{
    private const string InstanceLetters = "abcdefghijklmnopqrstuvwxyz";

    private readonly ApplicationModel _model;
    private readonly LocalRunOptions _options;
    private readonly Dictionary<ServiceResource, List<Replica>> _replicas = [];
    private readonly Dictionary<ExecutableResource, ExecutableProcess> _executables = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly HttpClient _healthClient = new() { Timeout = TimeSpan.FromSeconds(5) };

    public LocalRun(ApplicationModel model, LocalRunOptions? options = null)
    {
        _model = model;
        _options = options ?? new LocalRunOptions();
        Console = new ConsoleLog(echo: _options.EchoConsole);
    }

    public ConsoleLog Console { get; }

    public IEnumerable<Replica> Replicas => _model.InStartOrder().SelectMany(service => _replicas.TryGetValue(service, out var list) ? list : []);

    public IReadOnlyList<Replica> ReplicasOf(string service) => _replicas[_model[service]];

    /// <summary>The executables (Redis) of the model, which start before every service.</summary>
    public IEnumerable<ExecutableProcess> Executables => _model.Executables.Where(_executables.ContainsKey).Select(e => _executables[e]);

    /// <summary>Every process of the run: executables, then replicas in start order.</summary>
    public IEnumerable<SupervisedProcess> Processes => Executables.Cast<SupervisedProcess>().Concat(Replicas);

    public ExecutableProcess ExecutableOf(string name) =>
        _executables.Single(pair => pair.Key.Name == name).Value;

    /// <summary>Starts every service and returns once all of them are healthy.</summary>
    /// <exception cref="InvalidOperationException">A port is taken or a service never became healthy.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var order = _model.InStartOrder();
        // Before anything starts: a missing program is a message, not a half-started application.
        foreach (var executable in _model.Executables)
        {
            if (ExecutableProcess.FindOnPath(executable.Command) is null)
            {
                throw new InvalidOperationException($"{executable.Command} is not on PATH and the application needs it for '{executable.Name}'; {executable.InstallHint}");
            }
        }

        var ports = AllocatePorts(order, out var executablePorts);
        foreach (var executable in _model.Executables)
        {
            _executables[executable] = new ExecutableProcess(executable, executablePorts[executable], Console);
        }

        foreach (var service in order)
        {
            _replicas[service] = Enumerable.Range(0, service.Replicas)
                .Select(i => new Replica(service, i, ports[service][i], service.IsExternal ? "localhost" : "127.0.0.1", EnvironmentFor(service, i, ports), Console, _healthClient))
                .ToList();
        }

        var executablesUp = Task.WhenAll(_executables.Values.Select(e =>
        {
            e.Supervise(_stopping.Token);
            return e.FirstHealthy;
        }));
        var healthy = new Dictionary<ServiceResource, Task>();
        foreach (var service in order)
        {
            var dependencies = service.WaitsFor.Select(d => healthy[d]).Append(executablesUp).ToArray();
            healthy[service] = StartServiceAsync(service, dependencies, cancellationToken);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartTimeout);
        try
        {
            await Task.WhenAll(healthy.Values).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var waiting = Processes.Where(r => !r.FirstHealthy.IsCompletedSuccessfully).Select(r => $"{r.Name} ({r.State})");
            throw new InvalidOperationException(
                $"Not healthy after {_options.StartTimeout.TotalSeconds:0} s: {string.Join(", ", waiting)}. Their console output above says why.");
        }
    }

    private async Task StartServiceAsync(ServiceResource service, Task[] dependencies, CancellationToken cancellationToken)
    {
        await Task.WhenAll(dependencies).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var replica in _replicas[service])
        {
            replica.Supervise(_stopping.Token);
        }

        await Task.WhenAll(_replicas[service].Select(r => r.FirstHealthy)).ConfigureAwait(false);
    }

    private Dictionary<ServiceResource, int[]> AllocatePorts(IReadOnlyList<ServiceResource> services, out Dictionary<ExecutableResource, int> executablePorts)
    {
        // Every port is chosen before anything starts: a replica's address is given to others and
        // must stay the same across its restarts.
        var ports = new Dictionary<ServiceResource, int[]>();
        var listeners = new List<TcpListener>();
        executablePorts = [];
        try
        {
            foreach (var executable in _model.Executables)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
                executablePorts[executable] = ((IPEndPoint)listener.LocalEndpoint).Port;
            }

            foreach (var service in services)
            {
                var list = new int[service.Replicas];
                for (var i = 0; i < list.Length; i++)
                {
                    var fixedPort = i == 0 && service.Port is > 0 ? service.Port : null;
                    var listener = new TcpListener(service.IsExternal ? IPAddress.Any : IPAddress.Loopback, fixedPort ?? 0);
                    try
                    {
                        listener.Start();
                    }
                    catch (SocketException exception)
                    {
                        throw new InvalidOperationException(
                            $"Port {fixedPort} for {service.Name} is in use ({exception.SocketErrorCode}); stop what holds it or choose another with --AppHost:GatewayPort=<port>.");
                    }

                    listeners.Add(listener);
                    list[i] = ((IPEndPoint)listener.LocalEndpoint).Port;
                }

                ports[service] = list;
            }
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }

        return ports;
    }

    private Dictionary<string, string> EnvironmentFor(ServiceResource service, int index, Dictionary<ServiceResource, int[]> ports)
    {
        var host = service.IsExternal ? "localhost" : "127.0.0.1";
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_URLS"] = $"http://{host}:{ports[service][index]}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["OTEL_SERVICE_NAME"] = service.Name,
            ["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={service.Name}-{RandomLetters(8)}",
            ["OTEL_TRACES_SAMPLER"] = "always_on",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["MLPLATFORM_PARENT_PID"] = System.Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
        };

        foreach (var reference in service.References)
        {
            var referencePorts = ports[reference];
            for (var i = 0; i < referencePorts.Length; i++)
            {
                environment[$"services__{reference.Name}__http__{i}"] = $"http://127.0.0.1:{referencePorts[i]}";
            }
        }

        foreach (var executable in service.Connections)
        {
            environment[$"ConnectionStrings__{executable.Name}"] = _executables[executable].ConnectionString;
        }

        foreach (var (key, value) in service.Environment.Concat(_options.Environment))
        {
            environment[key] = value;
        }

        return environment;
    }

    private static string RandomLetters(int count) =>
        string.Create(count, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = InstanceLetters[System.Security.Cryptography.RandomNumberGenerator.GetInt32(InstanceLetters.Length)];
            }
        });

    /// <summary>Stops every replica it started: SIGTERM first, a kill after a grace period.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        // Dependents first, so a gateway does not log failures for services already gone.
        var stops = Processes.Reverse().Select(r => r.StopAsync(TimeSpan.FromSeconds(5)));
        await Task.WhenAll(stops).ConfigureAwait(false);
    }

    /// <summary>The process named <paramref name="name"/> (<c>inference-0</c>, <c>redis-0</c>), or null.</summary>
    public SupervisedProcess? Find(string name) => Processes.FirstOrDefault(p => p.Name == name);

    /// <summary>Stops one process until <see cref="Start"/>; its supervisor no longer restarts it.</summary>
    public Task StopAsync(SupervisedProcess process) => process.StopAsync(TimeSpan.FromSeconds(5));

    /// <summary>Starts a stopped process again on its own port; false when it is already running or the run is stopping.</summary>
    public bool Start(SupervisedProcess process) => process.Supervise(_stopping.Token);

    /// <summary>Stops a process gracefully and starts it again.</summary>
    public async Task RestartAsync(SupervisedProcess process)
    {
        await StopAsync(process).ConfigureAwait(false);
        Start(process);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _healthClient.Dispose();
        _stopping.Dispose();
    }
}
