using System.Diagnostics;
using System.Net;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>Replicas that die or fail their probes: requests keep succeeding, and health checks take the replica out.</summary>
public sealed class ReplicaFailureTests
{
    [Fact]
    public async Task StoppedReplica_ProxiedAndPredictRequests_AllSucceedByRetryingTheOther()
    {
        await using var alive = await StandIn.StartAsync("replica-0");
        await using var dying = await StandIn.StartAsync("replica-1");
        // Probes far apart, so only retries (not active health) can save the requests below.
        await using var gateway = await GatewayProcess.StartAsync(
            GatewayProcess.AllServices(alive, dying),
            new Dictionary<string, string?> { ["Gateway__HealthCheckInterval"] = "00:01:00", ["Gateway__HealthCheckTimeout"] = "00:00:05" });

        await dying.StopAsync();

        for (var i = 0; i < 12; i++)
        {
            using var get = await gateway.Client.GetAsync("/preprocess/still-there");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            using var post = await gateway.Client.PostAsync("/postprocess/v1/postprocess/mnist", GatewayHttp.Png());
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }

        for (var i = 0; i < 6; i++)
        {
            using var predict = await gateway.Client.SendAsync(GatewayHttp.Predict("mnist"));
            Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        }

        Assert.True(await GatewayHttp.ReadMetricAsync(gateway, "mlplatform_gateway_retries_total", "route=\"proxy\"") > 0, "no proxied request was retried");
        Assert.True(await GatewayHttp.ReadMetricAsync(gateway, "mlplatform_gateway_retries_total", "route=\"predict\"") > 0, "no predict hop was retried");
    }

    [Fact]
    public async Task StoppedReplica_PredictHopFailsToConnect_TakesItOutForLaterPredictions()
    {
        await using var alive = await StandIn.StartAsync("replica-0");
        await using var dying = await StandIn.StartAsync("replica-1");
        await using var gateway = await GatewayProcess.StartAsync(
            GatewayProcess.AllServices(alive, dying),
            new Dictionary<string, string?> { ["Gateway__HealthCheckInterval"] = "00:01:00", ["Gateway__HealthCheckTimeout"] = "00:00:05" });

        await dying.StopAsync();
        for (var i = 0; i < 12; i++)
        {
            using var predict = await gateway.Client.SendAsync(GatewayHttp.Predict("mnist"));
            Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        }

        // One failed connection per service at most: after it, passive health keeps every later hop away.
        var total = 0.0;
        foreach (var service in new[] { "preprocessing", "inference", "postprocessing" })
        {
            var retries = await GatewayHttp.ReadMetricAsync(gateway, "mlplatform_gateway_retries_total", $"service=\"{service}\"");
            Assert.True(retries <= 1, $"{service} was retried {retries} times");
            total += retries;
        }

        Assert.True(total >= 1, "no hop ever chose the stopped replica; the test proved nothing");
    }

    [Fact]
    public async Task StoppedReplica_WithoutTraffic_ActiveHealthTakesItOutBeforeAnyRequestTriesIt()
    {
        await using var alive = await StandIn.StartAsync("replica-0");
        await using var dying = await StandIn.StartAsync("replica-1");
        await using var gateway = await StartWithFastProbesAsync(alive, dying);

        await dying.StopAsync();
        // Each probe round reaches the live replica once per service; four rounds give the dead one
        // twice the failures it takes, whatever the machine's load.
        var probesBefore = Probes(alive);
        await WaitUntilAsync(() => Task.FromResult(Probes(alive) - probesBefore >= 4 * 3), "the gateway stopped probing");

        for (var i = 0; i < 20; i++)
        {
            using var response = await gateway.Client.GetAsync("/preprocess/after-probes");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(0, await GatewayHttp.ReadMetricAsync(gateway, "mlplatform_gateway_retries_total", ""));
    }

    [Fact]
    public async Task ReplicaFailingHealthProbes_IsTakenOutOfRotation_AndComesBackWhenHealthy()
    {
        await using var healthy = await StandIn.StartAsync("replica-0");
        await using var sick = await StandIn.StartAsync("replica-1");
        await using var gateway = await StartWithFastProbesAsync(healthy, sick);

        sick.Healthy = false;
        await WaitUntilAsync(async () => !await ReachesAsync(gateway.Client, sick, "/preprocess/sick"), "the sick replica still got requests");

        sick.Healthy = true;
        await WaitUntilAsync(async () => await ReachesAsync(gateway.Client, sick, "/preprocess/recovered"), "the recovered replica never got requests again");
    }

    private static int Probes(StandIn replica) => replica.Requests.Count(r => r.Path == "/health" && r.RequestId is null);

    private static Task<ServiceProcess> StartWithFastProbesAsync(params StandIn[] replicas) =>
        GatewayProcess.StartAsync(
            GatewayProcess.AllServices(replicas),
            new Dictionary<string, string?>
            {
                ["Gateway__HealthCheckInterval"] = "00:00:00.300",
                ["Gateway__HealthCheckTimeout"] = "00:00:00.250",
                ["Gateway__HealthCheckConsecutiveFailures"] = "2",
            });

    /// <summary>Whether any of ten requests reaches <paramref name="replica"/>; with two replicas, P2C sends it about half.</summary>
    private static async Task<bool> ReachesAsync(HttpClient client, StandIn replica, string path)
    {
        var marker = Guid.NewGuid().ToString();
        for (var i = 0; i < 10; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add(StandIn.MarkerHeader, marker);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        return replica.WithMarker(marker).Any();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), failure);
            await Task.Delay(200);
        }
    }
}

/// <summary>A service none of whose replicas can be reached.</summary>
public sealed class UnreachableServiceTests : IAsyncLifetime
{
    private ServiceProcess _gateway = null!;

    public async Task InitializeAsync()
    {
        Uri[] dead = [GatewayProcess.ClosedAddress(), GatewayProcess.ClosedAddress()];
        _gateway = await GatewayProcess.StartAsync(new Dictionary<string, Uri[]>
        {
            ["preprocessing"] = dead,
            ["inference"] = dead,
            ["postprocessing"] = dead,
        });
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Predict_EveryReplicaDown_Answers502NamingTheHopQuickly()
    {
        var stopwatch = Stopwatch.StartNew();

        using var response = await _gateway.Client.SendAsync(GatewayHttp.Predict("mnist"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal("preprocessing is unreachable", problem.GetProperty("title").GetString());
        Assert.Equal("preprocessing", problem.GetProperty("hop").GetString());
        Assert.DoesNotContain("127.0.0.1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/preprocess/anything")]
    [InlineData("/v2/models/mnist")]
    public async Task Proxy_EveryReplicaDown_Answers502Problem(string path)
    {
        using var response = await _gateway.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
    }
}

/// <summary>A gateway that cannot work refuses to start, naming the setting to fix.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Start_NoServicesConfigured_ExitsNonZeroNamingEachMissingKey()
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway");

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("services:preprocessing:http:0", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("services:inference:http:0", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("services:postprocessing:http:0", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_OneServiceMissingAndOneAddressInvalid_ExitsNamingBoth()
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", new Dictionary<string, string?>
        {
            ["services__preprocessing__http__0"] = "http://127.0.0.1:1",
            ["services__inference__http__0"] = "not-an-address",
        });

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("services:inference:http:0 is 'not-an-address'", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("services:postprocessing:http:0 is missing", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("services:preprocessing:http:0", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_InvalidGatewayOption_ExitsNamingIt()
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", new Dictionary<string, string?>
        {
            ["services__preprocessing__http__0"] = "http://127.0.0.1:1",
            ["services__inference__http__0"] = "http://127.0.0.1:1",
            ["services__postprocessing__http__0"] = "http://127.0.0.1:1",
            ["Gateway__RouteMaxRequestBodyBytes__predictions"] = "1024",
        });

        var errors = await ErrorLinesAfterExitAsync(gateway);

        var error = Assert.Single(errors);
        Assert.StartsWith("error: Gateway:RouteMaxRequestBodyBytes:predictions: ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Gateway__MaxAttempts", "0", "error: Gateway:MaxAttempts: The field MaxAttempts must be between 1 and 10.")]
    [InlineData("Gateway__MaxAttempts", "three", "error: Gateway:MaxAttempts: ")]
    public async Task Start_GatewayOptionOutOfRange_ExitsWithOneLineNamingIt(string variable, string value, string expectedStart)
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", new Dictionary<string, string?>
        {
            ["services__preprocessing__http__0"] = "http://127.0.0.1:1",
            ["services__inference__http__0"] = "http://127.0.0.1:1",
            ["services__postprocessing__http__0"] = "http://127.0.0.1:1",
            [variable] = value,
        });

        var errors = await ErrorLinesAfterExitAsync(gateway);

        var error = Assert.Single(errors);
        Assert.StartsWith(expectedStart, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_SeveralProblems_ExitsWithOneLineForEach()
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", new Dictionary<string, string?>
        {
            ["services__preprocessing__http__0"] = "http://127.0.0.1:1",
            ["services__inference__http__0"] = "not-an-address",
            ["Gateway__MaxAttempts"] = "0",
        });

        var errors = await ErrorLinesAfterExitAsync(gateway);

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, line => line.StartsWith("error: services:inference:http:0 is 'not-an-address'", StringComparison.Ordinal));
        Assert.Contains(errors, line => line.StartsWith("error: services:postprocessing:http:0 is missing", StringComparison.Ordinal));
        Assert.Contains(errors, line => line.StartsWith("error: Gateway:MaxAttempts: ", StringComparison.Ordinal));
    }

    /// <summary>Waits for the gateway to exit by itself, which must be with code 1 and no stack trace; returns its error lines.</summary>
    private static async Task<IReadOnlyList<string>> ErrorLinesAfterExitAsync(ServiceProcess gateway)
    {
        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));
        // The output stream may still be draining after the exit.
        await Task.Delay(200);
        var output = gateway.Output;
        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{output}");
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        return output.Split(Environment.NewLine).Where(line => line.StartsWith("error: ", StringComparison.Ordinal)).ToArray();
    }

    [Fact]
    public async Task Start_RetryDelayNotShorterThanHopTimeout_ExitsNamingBoth()
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", new Dictionary<string, string?>
        {
            ["services__preprocessing__http__0"] = "http://127.0.0.1:1",
            ["services__inference__http__0"] = "http://127.0.0.1:1",
            ["services__postprocessing__http__0"] = "http://127.0.0.1:1",
            ["Gateway__RetryDelay"] = "00:00:02",
            ["Gateway__HopTimeout"] = "00:00:01",
        });

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Gateway:RetryDelay", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("Gateway:HopTimeout", gateway.Output, StringComparison.Ordinal);
    }
}
