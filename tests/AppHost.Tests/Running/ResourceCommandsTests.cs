using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Running;
using MlPlatform.Dashboard.Resources;

namespace MlPlatform.AppHost.Tests.Running;

/// <summary>The dashboard's view of a real local run: snapshots, masked secrets, and stop, start and restart of one replica.</summary>
public sealed class ResourceCommandsTests(RunningApplication application) : IClassFixture<RunningApplication>
{
    private readonly LocalRunResources _resources = application.Resources;

    [Fact]
    public void GetResources_EveryReplica_RunningWithPidUrlAndInstanceId()
    {
        var resources = _resources.GetResources();

        Assert.Equal(["inference-0", "preprocessing-0", "postprocessing-0", "postprocessing-1", "gateway-0"], resources.Select(r => r.Name));
        Assert.All(resources, r =>
        {
            Assert.Equal("running", r.State);
            Assert.Equal("healthy", r.Health);
            Assert.NotNull(r.ProcessId);
            Assert.NotNull(r.Url);
            Assert.Matches($"^{r.Service}-[a-z]{{8}}$", r.InstanceId);
        });
    }

    [Fact]
    public void GetResources_SecretVariables_Masked()
    {
        var environment = _resources.GetResources().Single(r => r.Name == "gateway-0").Environment;

        var headers = Assert.Single(environment, v => v.Name == "OTEL_EXPORTER_OTLP_HEADERS");
        Assert.True(headers.IsSecret);
        Assert.DoesNotContain(environment, v => v.Value.Contains("not-for-your-eyes", StringComparison.Ordinal));
        var urls = Assert.Single(environment, v => v.Name == "ASPNETCORE_URLS");
        Assert.False(urls.IsSecret);
        Assert.StartsWith("http://", urls.Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_StopStartRestart_ChangesOnlyThatReplica()
    {
        var before = Snapshot("postprocessing-1");
        var sibling = Snapshot("postprocessing-0");

        Assert.True(await _resources.ExecuteAsync("postprocessing-1", ResourceCommand.Stop, CancellationToken.None));
        var stopped = Snapshot("postprocessing-1");
        Assert.Equal("stopped", stopped.State);
        Assert.Null(stopped.ProcessId);
        Assert.False(IsRunning(before.ProcessId!.Value));
        // A stopped replica stays stopped: the supervisor must not bring it back.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal("stopped", Snapshot("postprocessing-1").State);
        Assert.Equal(sibling.ProcessId, Snapshot("postprocessing-0").ProcessId);

        Assert.True(await _resources.ExecuteAsync("postprocessing-1", ResourceCommand.Start, CancellationToken.None));
        var started = await WaitUntilRunningAsync("postprocessing-1");
        Assert.NotEqual(before.ProcessId, started.ProcessId);
        Assert.Equal(before.Url, started.Url);
        using (var client = new HttpClient())
        {
            Assert.True((await client.GetAsync(new Uri(started.Url!, "/health"))).IsSuccessStatusCode);
        }

        Assert.True(await _resources.ExecuteAsync("postprocessing-1", ResourceCommand.Restart, CancellationToken.None));
        var restarted = await WaitUntilRunningAsync("postprocessing-1");
        Assert.NotEqual(started.ProcessId, restarted.ProcessId);
        Assert.False(IsRunning(started.ProcessId!.Value));
    }

    [Fact]
    public async Task Execute_UnknownResource_ReturnsFalse()
    {
        Assert.False(await _resources.ExecuteAsync("inference-7", ResourceCommand.Stop, CancellationToken.None));
        Assert.False(await _resources.ExecuteAsync("../gateway-0", ResourceCommand.Restart, CancellationToken.None));
    }

    [Fact]
    public void GetConsoleLines_OneReplica_OnlyItsLines()
    {
        var lines = _resources.GetConsoleLines("inference-0");

        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.Equal("inference-0", line.Resource));
        Assert.Contains(_resources.GetConsoleLines(null), line => line.Resource == "gateway-0");
    }

    private ResourceSnapshot Snapshot(string name) => _resources.GetResources().Single(r => r.Name == name);

    private async Task<ResourceSnapshot> WaitUntilRunningAsync(string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var snapshot = Snapshot(name);
            if (snapshot is { State: "running", ProcessId: not null })
            {
                return snapshot;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{name} is {Snapshot(name).State} after 60 s");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>One run for the class: starting the application takes seconds.</summary>
public sealed class RunningApplication : IAsyncLifetime
{
    private LocalRun _run = null!;

    internal LocalRunResources Resources { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var configuration = AppHostConfiguration.Build([], new Dictionary<string, string?>
        {
            ["AppHost:GatewayPort"] = "0",
            ["AppHost:Replicas:inference"] = "1",
            ["AppHost:Replicas:preprocessing"] = "1",
            ["AppHost:Replicas:postprocessing"] = "2",
        });
        var model = MlPlatformApplication.Describe(configuration, AppHostConfiguration.ModelRepository(configuration));
        var options = new LocalRunOptions { EchoConsole = false };
        options.Environment["OTEL_EXPORTER_OTLP_HEADERS"] = "x-otlp-api-key=not-for-your-eyes";
        _run = new LocalRun(model, options);
        Resources = new LocalRunResources(_run);
        await _run.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        Resources.Dispose();
        await _run.DisposeAsync();
    }
}
