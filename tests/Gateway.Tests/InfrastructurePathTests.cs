using System.Net;

namespace MlPlatform.Gateway.Tests;

/// <summary>
/// A service's /health, /alive and /metrics are for probes inside the cluster, inference's model control for its
/// operators: no spelling gets a request there through the gateway.
/// </summary>
[Collection(StandInsCollection.Name)]
public sealed class InfrastructurePathTests(StandInsFixture fixture)
{
    public static TheoryData<string, string> BypassAttempts() => new()
    {
        { "GET", "/preprocess/health" },
        { "GET", "/preprocess/alive" },
        { "GET", "/preprocess/metrics" },
        { "GET", "/postprocess/health" },
        { "GET", "/postprocess/alive" },
        { "GET", "/postprocess/metrics" },
        { "GET", "/preprocess/HEALTH" },
        { "GET", "/postprocess/Metrics" },
        { "GET", "/preprocess/health/" },
        { "GET", "/postprocess/alive/" },
        { "GET", "/preprocess/health/live" },
        { "GET", "/preprocess/metrics/extra/segments" },
        { "GET", "/preprocess//health" },
        { "GET", "/preprocess/%68ealth" },
        { "GET", "/preprocess/%2Fhealth" },
        { "GET", "/preprocess/%2fmetrics" },
        { "GET", "/preprocess/%252Fhealth" },
        { "GET", "/preprocess/%5Chealth" },
        { "GET", "/preprocess/..%2Fhealth" },
        { "GET", "/preprocess/v1/..%2F..%2Fmetrics" },
        { "GET", "/preprocess/./health" },
        { "GET", "/v2/..%2Fhealth" },
        { "GET", "/v2/..%2F..%2Falive" },
        { "GET", "/v2/%2E%2E%2Fmetrics" },
        { "GET", "/v2/models/..%2F..%2F..%2Fhealth" },
        { "POST", "/preprocess/metrics" },
        { "HEAD", "/postprocess/health" },
        { "DELETE", "/preprocess/alive" },
        // Model control is for operators inside the cluster: a key to predict must not unload the model.
        { "POST", "/v2/repository/models/mnist/load" },
        { "POST", "/v2/repository/models/mnist/unload" },
        { "POST", "/v2/Repository/MODELS/mnist/unload" },
        { "POST", "/v2/repository/models/" },
        { "POST", "/v2//repository/./models/mnist/load" },
        { "POST", "/v2/repository%2Fmodels/mnist/load" },
        { "POST", "/v2/models/..%2Frepository/models/mnist/unload" },
    };

    [Theory]
    [MemberData(nameof(BypassAttempts))]
    public async Task InfrastructurePath_AnySpelling_Answers404AndIsNeverForwarded(string method, string path)
    {
        var marker = Guid.NewGuid().ToString();
        using var request = GatewayHttp.Raw(new HttpMethod(method), fixture.Gateway.BaseAddress, path);
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(fixture.All.SelectMany(s => s.WithMarker(marker)));
    }

    [Fact]
    public async Task RepositoryIndex_IsForwarded()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/repository/index");
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v2/repository/index", Assert.Single(fixture.Inference[0].WithMarker(marker)).Path);
    }

    [Fact]
    public async Task InfrastructureLookalikes_ModelNamedHealth_IsForwarded()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/models/health");
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/v2/models/health", Assert.Single(fixture.Inference[0].WithMarker(marker)).Path);
    }
}
