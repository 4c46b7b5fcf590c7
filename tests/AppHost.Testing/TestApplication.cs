using MlPlatform.AppHost;
using MlPlatform.AppHost.Running;
using MlPlatform.Dashboard;

namespace MlPlatform.AppHost.Testing;

/// <summary>What a test may change about the application it starts.</summary>
public sealed class TestApplicationOptions
{
    /// <summary>Replica counts by service; the application model's defaults otherwise.</summary>
    public Dictionary<string, int> Replicas { get; } = new(StringComparer.Ordinal);

    /// <summary>Variables for every replica, for example a log level a test reads.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The gateway's port; 0 (the default in tests) picks a free one so runs never collide.</summary>
    public int GatewayPort { get; set; }

    public bool EchoConsole { get; set; }

    /// <summary>Whether to start the dashboard (on free ports) and send every replica's telemetry to it.</summary>
    public bool Dashboard { get; set; }
}

/// <summary>
/// The real application model, started by a test the way <c>dotnet run --project AppHost</c> starts
/// it, with HttpClients for its resources: this repository's counterpart of a testing builder for an
/// AppHost. Dispose it to stop every replica.
/// </summary>
public sealed class TestApplication : IAsyncDisposable
{
    private readonly List<HttpClient> _clients = [];

    private TestApplication(LocalRun run, DashboardServer? dashboard)
    {
        Run = run;
        Dashboard = dashboard;
    }

    public LocalRun Run { get; }

    /// <summary>The dashboard, when <see cref="TestApplicationOptions.Dashboard"/> asked for it.</summary>
    public DashboardServer? Dashboard { get; }

    public static async Task<TestApplication> StartAsync(Action<TestApplicationOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var options = new TestApplicationOptions();
        configure?.Invoke(options);

        var overrides = new Dictionary<string, string?>
        {
            ["AppHost:GatewayPort"] = options.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Dashboard:Enabled"] = options.Dashboard ? "true" : "false",
            ["Dashboard:UiPort"] = "0",
            ["Dashboard:OtlpGrpcPort"] = "0",
            ["Dashboard:OtlpHttpPort"] = "0",
        };
        foreach (var (service, replicas) in options.Replicas)
        {
            overrides[$"AppHost:Replicas:{service}"] = replicas.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var configuration = AppHostConfiguration.Build([], overrides);
        var model = MlPlatformApplication.Describe(configuration, AppHostConfiguration.ModelRepository(configuration));
        var runOptions = new LocalRunOptions { EchoConsole = options.EchoConsole };
        foreach (var (key, value) in options.Environment)
        {
            runOptions.Environment[key] = value;
        }

        var run = new LocalRun(model, runOptions);
        DashboardServer? dashboard = null;
        try
        {
            dashboard = await DashboardLauncher.StartAsync(DashboardLauncher.ReadOptions(configuration), run, runOptions, cancellationToken).ConfigureAwait(false);
            await run.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            var output = string.Join(System.Environment.NewLine, run.Console.Snapshot().TakeLast(200).Select(l => $"{l.Replica}| {l.Text}"));
            await run.DisposeAsync().ConfigureAwait(false);
            if (dashboard is not null)
            {
                await dashboard.DisposeAsync().ConfigureAwait(false);
            }

            throw new InvalidOperationException($"The application did not start: {exception.Message}{System.Environment.NewLine}{output}", exception);
        }

        return new TestApplication(run, dashboard);
    }

    /// <summary>A client whose base address is one replica of a service.</summary>
    public HttpClient CreateHttpClient(string service, int replica = 0)
    {
        var client = new HttpClient { BaseAddress = Run.ReplicasOf(service)[replica].Url, Timeout = TimeSpan.FromSeconds(60) };
        _clients.Add(client);
        return client;
    }

    public IReadOnlyList<Replica> Replicas(string service) => Run.ReplicasOf(service);

    /// <summary>What the replicas of a service wrote to their consoles so far.</summary>
    public IReadOnlyList<ConsoleLine> ConsoleLines(string service) => Run.Console.Snapshot(service + "-");

    /// <summary>Waits until every replica of a service is running and healthy again.</summary>
    public async Task WaitUntilRunningAsync(string service, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (Replicas(service).Any(r => r.State != ReplicaState.Running))
        {
            await Task.Delay(100, deadline.Token).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        await Run.DisposeAsync().ConfigureAwait(false);
        if (Dashboard is not null)
        {
            await Dashboard.DisposeAsync().ConfigureAwait(false);
        }
    }
}
