using System.Net;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// The predict pipeline as a Kong service (<c>url: http://predict</c>): served only where a route sends requests to
/// it, under that route's plugins; without such a route, <c>/v1/models/...:predict</c> is no route at all.
/// </summary>
public sealed class DeclarativePredictTests
{
    private const string Key = "predict-key-0123456789";

    private const string Yaml = $$"""
        _format_version: "3.0"
        services:
        - name: predict
          url: http://predict
          routes:
          - name: predict
            paths: [/v1/models/]
            methods: [POST]
          plugins:
          - name: key-auth
            config: {hide_credentials: true}
          - name: rate-limiting
            config: {second: 1000, hour: 1000000}
        consumers:
        - username: predictor
          keyauth_credentials:
          - key: {{Key}}
        """;

    [Fact]
    public async Task PredictService_RunsThePipelineUnderItsRoutesPlugins()
    {
        await using var standIn = await StandIn.StartAsync("all-0");
        await using var gateway = await KongGateway.StartAsync(Yaml, GatewayProcess.AllServices(standIn));

        using (var noKey = await gateway.Client.SendAsync(GatewayHttp.Predict("mnist")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        }

        var marker = Guid.NewGuid().ToString("N");
        using var request = GatewayHttp.Predict("mnist");
        request.Headers.Add("apikey", Key);
        request.Headers.Add("X-Request-Id", marker);
        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1000", GatewayHttp.Header(response, "X-RateLimit-Limit-Second"));
        var hops = standIn.WithRequestId(marker).ToArray();
        Assert.Equal(3, hops.Length);
        Assert.All(hops, hop => Assert.False(hop.Headers.ContainsKey("apikey")));
    }

    [Fact]
    public async Task WithoutAPredictRoute_PredictIsNoRoute()
    {
        await using var standIn = await StandIn.StartAsync("all-0");
        var yaml = """
            _format_version: "3.0"
            services:
            - name: inference
              url: http://inference
              routes:
              - paths: [/v2]
                strip_path: false
            """;
        await using var gateway = await KongGateway.StartAsync(yaml, GatewayProcess.AllServices(standIn));
        using var response = await gateway.Client.SendAsync(GatewayHttp.Predict("mnist"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(standIn.Requests, r => r.Path.StartsWith("/v1/", StringComparison.Ordinal));
    }
}
