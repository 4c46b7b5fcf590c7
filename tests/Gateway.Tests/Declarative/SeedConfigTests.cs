using System.Net;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// The platform's seed policy written as Kong's kong.yml (one service, rate-limiting second=5 and hour=10000, key-auth;
/// <c>Files/seed-inference.yml</c>, shown in the README) in front of the real inference service, as is: Kong's
/// headers and answers, and the service's own.
/// </summary>
[Collection(RateLimitCollection.Name)]
public sealed class SeedConfigTests
{
    private const string DevelopmentKey = "dev-key-change-me";

    [Fact]
    public async Task SeedKongYml_ServesInference_WithKongsKeyAuthAndRateLimitAnswers()
    {
        await using var inference = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference");
        var yaml = await File.ReadAllTextAsync(RepositoryPaths.InRoot("tests", "Gateway.Tests", "Declarative", "Files", "seed-inference.yml"));
        await using var gateway = await KongGateway.StartAsync(yaml, new Dictionary<string, Uri[]> { ["inference"] = [inference.BaseAddress] });

        using (var noKey = await gateway.Client.GetAsync("/v2/models/mnist"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
            Assert.Equal("No API key found in request", (await GatewayHttp.ReadJsonAsync(noKey)).GetProperty("message").GetString());
        }

        // Through the gateway, the real service: the bundled model's V2 metadata.
        using (var metadata = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models/mnist", DevelopmentKey)))
        {
            Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
            Assert.Equal("mnist", (await GatewayHttp.ReadJsonAsync(metadata)).GetProperty("name").GetString());
            Assert.Equal("5", GatewayHttp.Header(metadata, "X-RateLimit-Limit-Second"));
            Assert.Equal("10000", GatewayHttp.Header(metadata, "X-RateLimit-Limit-Hour"));
            Assert.Equal("5", GatewayHttp.Header(metadata, "RateLimit-Limit"));
        }

        HttpResponseMessage? refused = null;
        for (var i = 0; i < 50 && refused is null; i++)
        {
            var response = await gateway.Client.SendAsync(PolicySettings.Get("/v2/health/ready", DevelopmentKey));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
                continue;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal("API rate limit exceeded", (await GatewayHttp.ReadJsonAsync(refused)).GetProperty("message").GetString());
            Assert.NotNull(GatewayHttp.Header(refused, "Retry-After"));
        }

        // hide_credentials: inference never saw the key, and the route is /v2 only.
        using var other = await gateway.Client.SendAsync(PolicySettings.Get("/preprocess/x", DevelopmentKey));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }
}
