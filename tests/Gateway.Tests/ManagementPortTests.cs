using System.Globalization;
using System.Net;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>
/// The gateway's own /health, /alive and /metrics answer on its management port alone, as Kong's status listener: the
/// public port, which the Ingress routes to, answers them as any unknown path, and the management port serves nothing
/// else. The stand-ins' gateway has no API keys on, so a request routed to a service would reach it.
/// </summary>
[Collection(StandInsCollection.Name)]
public sealed class ManagementPortTests(StandInsFixture fixture)
{
    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task HealthAndAlive_OnTheManagementPort_Answer200Healthy(string path)
    {
        using var response = await fixture.Gateway.ManagementClient.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_OnTheManagementPort_PrometheusTextOfTheGatewaysMeters()
    {
        // One routed request first, so the gateway's own meters have a series to show.
        using var predicted = await fixture.Client.SendAsync(GatewayHttp.Predict("mnist"));
        Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);

        using var response = await fixture.Gateway.ManagementClient.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE mlplatform_gateway_", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/health")]
    [InlineData("GET", "/alive")]
    [InlineData("GET", "/metrics")]
    [InlineData("GET", "/METRICS")]
    [InlineData("GET", "/Health")]
    [InlineData("GET", "/metrics/")]
    [InlineData("GET", "/alive/")]
    [InlineData("GET", "/health/live")]
    [InlineData("GET", "/health/ready")]
    [InlineData("GET", "//metrics")]
    [InlineData("GET", "/%6Detrics")]
    [InlineData("HEAD", "/health")]
    [InlineData("POST", "/metrics")]
    public async Task GatewaysOwnEndpoints_OnThePublicPort_404AsAnyUnknownPathAndNeverForwarded(string method, string path)
    {
        var marker = Guid.NewGuid().ToString();
        using var request = GatewayHttp.Raw(new HttpMethod(method), fixture.Gateway.BaseAddress, path);
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotNull(GatewayHttp.Header(response, "X-Request-Id"));
        if (method != "HEAD")
        {
            // The gateway's usual 404: problem details with a trace id, as for /nowhere, and nothing of a health report.
            var problem = await GatewayHttp.ReadProblemAsync(response);
            Assert.Equal(404, problem.GetProperty("status").GetInt32());
            Assert.True(problem.TryGetProperty("traceId", out _));
        }

        Assert.Empty(fixture.All.SelectMany(s => s.WithMarker(marker)));
    }

    [Fact]
    public async Task UnknownPath_OnThePublicPort_SameAnswerAsMetrics()
    {
        using var unknown = await fixture.Client.GetAsync("/nowhere");
        using var metrics = await fixture.Client.GetAsync("/metrics");

        Assert.Equal(unknown.StatusCode, metrics.StatusCode);
        Assert.Equal(unknown.Content.Headers.ContentType?.MediaType, metrics.Content.Headers.ContentType?.MediaType);
        var unknownProblem = await GatewayHttp.ReadProblemAsync(unknown);
        var metricsProblem = await GatewayHttp.ReadProblemAsync(metrics);
        Assert.Equal(unknownProblem.GetProperty("title").GetString(), metricsProblem.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("POST", "/v1/models/mnist:predict")]
    [InlineData("GET", "/v2/models/mnist")]
    [InlineData("POST", "/v2/models/mnist/infer")]
    [InlineData("GET", "/v2/health/ready")]
    [InlineData("POST", "/v2/repository/index")]
    [InlineData("POST", "/preprocess/v1/preprocess/mnist")]
    [InlineData("POST", "/postprocess/v1/postprocess/mnist")]
    [InlineData("POST", "/inference.GRPCInferenceService/ModelInfer")]
    [InlineData("GET", "/docs")]
    [InlineData("GET", "/openapi/v1.json")]
    [InlineData("GET", "/try")]
    [InlineData("GET", "/")]
    [InlineData("POST", "/config")]
    public async Task AnythingElse_OnTheManagementPort_404AndNeverForwarded(string method, string path)
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = GatewayHttp.Png();
        }

        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Gateway.ManagementClient.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
        Assert.Empty(fixture.All.SelectMany(s => s.WithMarker(marker)));
    }

    /// <summary>Kestrel resolves these dot segments before routing, so they land on the gateway's own endpoints, never a service's.</summary>
    [Theory]
    [InlineData("/preprocess/../health")]
    [InlineData("/postprocess/./../alive")]
    [InlineData("/v2/../health")]
    [InlineData("/preprocess/%2E%2E/alive")]
    public async Task DotSegments_ResolvedBeforeRouting_404OnThePublicPortHealthyOnTheManagementPort(string path)
    {
        var marker = Guid.NewGuid().ToString();
        using var publicRequest = GatewayHttp.Raw(HttpMethod.Get, fixture.Gateway.BaseAddress, path);
        publicRequest.Headers.Add(StandIn.MarkerHeader, marker);
        using var managementRequest = GatewayHttp.Raw(HttpMethod.Get, fixture.Gateway.ManagementAddress, path);
        managementRequest.Headers.Add(StandIn.MarkerHeader, marker);

        using var onPublic = await fixture.Client.SendAsync(publicRequest);
        using var onManagement = await fixture.Gateway.ManagementClient.SendAsync(managementRequest);

        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);
        Assert.Equal(HttpStatusCode.OK, onManagement.StatusCode);
        Assert.Equal("Healthy", await onManagement.Content.ReadAsStringAsync());
        Assert.Empty(fixture.All.SelectMany(s => s.WithMarker(marker)));
    }

    [Fact]
    public async Task Predict_OnThePublicPort_StillServed()
    {
        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict("mnist"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

/// <summary>The management port's setting: checked on start with the others, and what a gateway without one serves.</summary>
public sealed class ManagementPortSettingTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("-1")]
    public async Task Start_ManagementPortOutOfRange_ExitsNamingTheKey(string port)
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(Services(), new Dictionary<string, string?>
        {
            ["Gateway__ManagementPort"] = port,
        }));

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("error: Gateway:ManagementPort", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ManagementPortNotANumber_ExitsNamingTheKey()
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(Services(), new Dictionary<string, string?>
        {
            ["Gateway__ManagementPort"] = "eighty-ninety",
        }));

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("error: Gateway:ManagementPort", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ManagementPortSameAsGrpcPort_ExitsNamingBothKeys()
    {
        var port = LoopbackPort.Free().ToString(CultureInfo.InvariantCulture);
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(Services(), new Dictionary<string, string?>
        {
            ["services__inference__grpc__0"] = "http://127.0.0.1:1",
            ["Gateway__ManagementPort"] = port,
            ["Gateway__GrpcPort"] = port,
        }));

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains($"error: Gateway:ManagementPort is {port}, the same as Gateway:GrpcPort", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unset_GatewayServesItsOwnEndpointsNowhereAndSaysSo()
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        var environment = GatewayProcess.Environment(GatewayProcess.AllServices(upstream));
        // The API document is the one thing a gateway without a management port answers whatever its settings.
        await using var gateway = await ServiceProcess.StartAsync("Gateway", "MlPlatform.Gateway", environment, readyPath: "/openapi/v1.json");

        foreach (var path in new[] { "/health", "/alive", "/metrics" })
        {
            using var response = await gateway.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var predict = await gateway.Client.SendAsync(GatewayHttp.Predict("mnist"));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        Assert.Contains("Gateway:ManagementPort is not set", gateway.Output, StringComparison.Ordinal);
        Assert.Single(gateway.Output.Split('\n'), line => line.Contains("Now listening on: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Set_KestrelListensOnThePublicAddressFirstThenTheManagementPort()
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");

        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream));

        var listening = gateway.Output.Split('\n')
            .Where(line => line.Contains("Now listening on: ", StringComparison.Ordinal))
            .Select(line => new Uri(line[(line.IndexOf("Now listening on: ", StringComparison.Ordinal) + "Now listening on: ".Length)..].Trim()))
            .ToArray();
        Assert.Equal([gateway.BaseAddress, gateway.ManagementAddress], listening);
        Assert.NotEqual(gateway.BaseAddress.Port, gateway.ManagementAddress.Port);
        Assert.DoesNotContain("Gateway:ManagementPort is not set", gateway.Output, StringComparison.Ordinal);
    }

    private static Dictionary<string, Uri[]> Services() => new()
    {
        ["preprocessing"] = [new Uri("http://127.0.0.1:1")],
        ["inference"] = [new Uri("http://127.0.0.1:1")],
        ["postprocessing"] = [new Uri("http://127.0.0.1:1")],
    };
}
