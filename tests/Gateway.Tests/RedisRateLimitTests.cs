using System.Net;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>The redis policy against a real redis-server: shared counts, Redis failures, start-up errors.</summary>
[Collection(RateLimitCollection.Name)]
public sealed class RedisRateLimitTests
{
    private static Dictionary<string, string?> RedisSettings(RedisServer? redis, long second, bool faultTolerant = true)
    {
        var settings = PolicySettings.On(second: second, hour: 10_000);
        settings["Gateway__RateLimiting__Policy"] = "redis";
        settings["Gateway__RateLimiting__FaultTolerant"] = faultTolerant ? "true" : "false";
        settings["ConnectionStrings__redis"] = redis?.ConnectionString;
        return settings;
    }

    [Fact]
    public async Task RedisPolicy_TwoGatewaysSharingRedis_ExactlyFivePassInEachSecondWindow()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await StandIn.StartAsync("upstream-0");
        await using var first = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), RedisSettings(redis, 5));
        await using var second = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), RedisSettings(redis, 5));

        var result = await PolicySettings.HammerAsync([first, second], clients: 64, TimeSpan.FromSeconds(10));
        result.AssertExact(limit: 5, expectedWindows: 10);
    }

    [Fact]
    public async Task RedisPolicy_RedisKilledUnderLoad_TrafficContinuesWithoutA5xxAndAWarningIsLogged()
    {
        var redis = await RedisServer.StartAsync();
        await using var upstream = await StandIn.StartAsync("upstream-0");
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), RedisSettings(redis, 1_000_000));

        var load = PolicySettings.HammerAsync([gateway], clients: 16, TimeSpan.FromSeconds(6));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await redis.DisposeAsync();
        var result = await load;

        Assert.Empty(result.OtherStatuses);
        Assert.True(result.PassedByWindow.Values.Sum() > 100);
        // While Redis is away, requests pass without rate-limit headers, so the loop counts them under no window:
        // check the gateway still answers and said why.
        using var after = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Contains("Rate-limit counters (redis policy) cannot be reached", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedisPolicy_RedisDownAndNotFaultTolerant_Returns503ProblemDetails()
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        var closed = GatewayProcess.ClosedAddress();
        var settings = RedisSettings(null, 5, faultTolerant: false);
        settings["ConnectionStrings__redis"] = $"127.0.0.1:{closed.Port}";
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), settings);

        using var response = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Contains("FaultTolerant", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("127.0.0.1:notaport")]
    [InlineData("abortConnect=sometimes")]
    public async Task RedisPolicy_MissingOrMalformedConnectionString_StopsStartUpNamingTheKey(string? connectionString)
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        var settings = RedisSettings(null, 5);
        settings["ConnectionStrings__redis"] = connectionString;
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(GatewayProcess.AllServices(upstream), settings));

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("ConnectionStrings:redis", gateway.Output, StringComparison.Ordinal);
    }
}
