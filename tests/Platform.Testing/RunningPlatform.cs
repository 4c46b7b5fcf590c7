using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace MlPlatform.Platform.Testing;

/// <summary>One replica (or Redis) as the AppHost last reported it.</summary>
/// <param name="ResourceId">DCP's name for it, such as <c>inference-abcdwxyz</c>.</param>
/// <param name="ProcessId">The process DCP started (for a project, the <c>dotnet run</c> that runs the service).</param>
/// <param name="Url">Its own address, behind the service's proxy.</param>
/// <param name="Starts">How often it has been seen Running: 1, then once more after each restart.</param>
/// <param name="ManagementUrl">
/// Where it answers <c>/health</c>, <c>/alive</c> and <c>/metrics</c>: a gateway's own management port, any other
/// service's <paramref name="Url"/>.
/// </param>
public sealed record ReplicaSnapshot(string ResourceId, string Service, string? State, HealthStatus? Health, int? ProcessId, Uri? Url, int? ExitCode, int Starts, Uri? ManagementUrl)
{
    public bool IsRunningAndHealthy => State == KnownResourceStates.Running && Health == HealthStatus.Healthy;
}

/// <summary>
/// The real application, started from the AppHost through Aspire.Hosting.Testing on random ports, as
/// <c>dotnet run --project AppHost</c> starts it: DCP, every replica, their health checks and restarts. It keeps
/// each replica's latest state and every console line, for tests that look behind the gateway.
/// </summary>
public sealed class RunningPlatform : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ReplicaSnapshot> _replicas = new(StringComparer.Ordinal);
    private readonly ConsoleCapture _console = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _watch = Task.CompletedTask;

    private RunningPlatform(DistributedApplication app)
    {
        App = app;
    }

    public DistributedApplication App { get; }

    /// <summary>Starts the application and returns once the gateway (and so everything it waits for) is healthy.</summary>
    /// <param name="arguments">AppHost settings such as <c>--AppHost:Replicas:gateway=2</c>.</param>
    /// <param name="dashboard">Whether to run the Aspire dashboard too (tests leave it off unless they look at it).</param>
    public static async Task<RunningPlatform> StartAsync(string[] arguments, bool dashboard = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.MlPlatform_AppHost>(
            arguments,
            (options, _) => options.DisableDashboard = !dashboard,
            timeout.Token);
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment(context =>
            {
                foreach (var (key, value) in environment ?? new Dictionary<string, string>())
                {
                    context.EnvironmentVariables[key] = value;
                }
            });
        }

        var platform = default(RunningPlatform);
        var capture = new ConsoleCapture();
        builder.Services.AddLogging(logging => logging.AddProvider(capture).SetMinimumLevel(LogLevel.Information));
        var app = await builder.BuildAsync(timeout.Token);
        platform = new RunningPlatform(app);
        platform._console.Forward(capture);
        platform._watch = platform.WatchAsync(platform._stopping.Token);
        try
        {
            await app.StartAsync(timeout.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("gateway", timeout.Token);
        }
        catch (Exception exception)
        {
            var output = string.Join(Environment.NewLine, capture.Lines.TakeLast(200).Select(l => $"{l.Resource}| {l.Text}"));
            await platform.DisposeAsync();
            throw new InvalidOperationException($"The application did not start: {exception.Message}{Environment.NewLine}{output}", exception);
        }

        return platform;
    }

    public HttpClient CreateGatewayClient(string? apiKey = "dev-key-change-me")
    {
        var client = App.CreateHttpClient("gateway", "http");
        client.Timeout = TimeSpan.FromSeconds(100);
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("apikey", apiKey);
        }

        return client;
    }

    /// <summary>The address of a service, its DCP proxy in front of every replica.</summary>
    public Uri ServiceUrl(string service, string endpoint = "http") => App.GetEndpoint(service, endpoint);

    /// <summary>The replicas of <paramref name="service"/> (or the executable, such as redis), in a stable order.</summary>
    public IReadOnlyList<ReplicaSnapshot> Replicas(string service) =>
        _replicas.Values.Where(r => r.Service == service).OrderBy(r => r.ResourceId, StringComparer.Ordinal).ToList();

    public ReplicaSnapshot Replica(string resourceId) => _replicas[resourceId];

    public IEnumerable<ReplicaSnapshot> AllReplicas => _replicas.Values;

    /// <summary>Every console line a resource's replicas wrote so far.</summary>
    public IReadOnlyList<string> ConsoleLines(string service) =>
        _console.Lines.Where(l => l.Resource == service || l.Resource.StartsWith(service + "-", StringComparison.Ordinal)).Select(l => l.Text).ToList();

    /// <summary>Waits until every replica of every service is running and healthy.</summary>
    public async Task WaitUntilAllHealthyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!_replicas.Values.All(r => r.IsRunningAndHealthy) || _replicas.IsEmpty)
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"not every replica healthy after {timeout.TotalSeconds:0} s: {string.Join(", ", _replicas.Values.Where(r => !r.IsRunningAndHealthy).Select(r => $"{r.ResourceId} {r.State}/{r.Health}"))}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Kills a replica as a crash or the OOM killer would: SIGKILL to the service process and the
    /// <c>dotnet run</c> above it. Returns the killed service process id.
    /// </summary>
    public int Kill(ReplicaSnapshot replica)
    {
        var launcher = replica.ProcessId ?? throw new InvalidOperationException($"{replica.ResourceId} has no process");
        var children = ProcessTree.Children(launcher);
        var service = children.Count > 0 ? children[0] : launcher;
        ProcessTree.KillHard(service);
        return service;
    }

    /// <summary>Runs one of Aspire's resource commands (<c>start</c>, <c>stop</c>, <c>restart</c>, or one of ours), as the dashboard's buttons do.</summary>
    public async Task<ExecuteCommandResult> ExecuteCommandAsync(string resourceId, string command)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(resourceId, command, timeout.Token);
    }

    /// <summary>The service process of a replica: the child of the <c>dotnet run</c> DCP started, or that process itself.</summary>
    public static int? ServiceProcessId(ReplicaSnapshot replica) =>
        replica.ProcessId is { } launcher ? (ProcessTree.Children(launcher) is { Count: > 0 } children ? children[0] : launcher) : null;

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var change in App.ResourceNotifications.WatchAsync(cancellationToken))
            {
                // Aspire's hidden helpers (a project's rebuilder) are not part of the application.
                if (change.Resource is not (ProjectResource or ExecutableResource) || change.Snapshot.IsHidden)
                {
                    continue;
                }

                var snapshot = change.Snapshot;
                var state = snapshot.State?.Text;
                _replicas.AddOrUpdate(
                    change.ResourceId,
                    _ => Read(change, state, starts: state == KnownResourceStates.Running ? 1 : 0),
                    (_, previous) => Read(change, state, previous.Starts + (state == KnownResourceStates.Running && previous.State != KnownResourceStates.Running ? 1 : 0)));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static ReplicaSnapshot Read(ResourceEvent change, string? state, int starts)
    {
        var snapshot = change.Snapshot;
        var pid = snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value switch
        {
            int value => value,
            long value => (int)value,
            string text when int.TryParse(text, out var value) => value,
            _ => (int?)null,
        };
        var urls = snapshot.EnvironmentVariables.FirstOrDefault(e => e.Name == "ASPNETCORE_URLS")?.Value;
        var url = urls?.Split(';')[0] is { Length: > 0 } first && Uri.TryCreate(first, UriKind.Absolute, out var parsed) ? parsed : null;
        // The gateway's management endpoint is given by a variable of its own, as the AppHost declares it, not in ASPNETCORE_URLS.
        var managementPort = snapshot.EnvironmentVariables.FirstOrDefault(e => e.Name == "Gateway__ManagementPort")?.Value;
        var managementUrl = url is not null && int.TryParse(managementPort, System.Globalization.CultureInfo.InvariantCulture, out var port)
            ? new UriBuilder(url) { Port = port }.Uri
            : url;
        return new ReplicaSnapshot(change.ResourceId, change.Resource.Name, state, snapshot.HealthStatus, pid, url, snapshot.ExitCode, starts, managementUrl);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await App.StopAsync(timeout.Token);
        }
        catch (Exception exception) when (exception is OperationCanceledException or InvalidOperationException)
        {
        }

        await App.DisposeAsync();
        await _watch;
        _stopping.Dispose();
    }
}
