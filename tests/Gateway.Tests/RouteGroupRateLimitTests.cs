using System.Globalization;
using System.Net;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>Route groups with windows of their own (Kong's plugin on a route), with both policies, and their start-up errors.</summary>
[Collection(RateLimitCollection.Name)]
public sealed class RouteGroupRateLimitTests
{
    private const string Section = "Gateway__RateLimiting__RouteGroups__";

    /// <summary>Global: 4 an hour (and a second limit no test reaches); preprocessing: 2 a minute of its own; postprocessing off.</summary>
    private static Dictionary<string, string?> Settings(string policy, RedisServer? redis)
    {
        var settings = PolicySettings.On(second: 1_000_000, hour: 4);
        settings["Gateway__RateLimiting__Policy"] = policy;
        settings["ConnectionStrings__redis"] = redis?.ConnectionString;
        // The boolean form and a group's keys together are refused, so the switch PolicySettings.On sets goes.
        settings[Section + "preprocessing"] = null;
        settings[Section + "preprocessing__Minute"] = "2";
        settings[Section + "postprocessing"] = null;
        settings[Section + "postprocessing__Enabled"] = "false";
        return settings;
    }

    [Theory]
    [InlineData("local")]
    [InlineData("redis")]
    public async Task GroupWithItsOwnWindows_RejectsAtItsLimit_WhileAnotherGroupPassesAtTheGlobalLimit(string policy)
    {
        await using var redis = policy == "redis" ? await RedisServer.StartAsync() : null;
        await using var upstream = await StandIn.StartAsync("upstream-0");
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), Settings(policy, redis));
        // Minute and hour windows: stay clear of a boundary that would reset them halfway.
        if (DateTimeOffset.UtcNow.Second >= 50)
        {
            await Task.Delay(TimeSpan.FromSeconds(61 - DateTimeOffset.UtcNow.Second));
        }

        var grouped = await SendAsync(gateway, "/preprocess/x", 4);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], grouped.Select(r => r.StatusCode));
        // The group's windows replace the global ones in every header.
        Assert.Equal("2", GatewayHttp.Header(grouped[0], "X-RateLimit-Limit-Minute"));
        Assert.Equal("1", GatewayHttp.Header(grouped[0], "X-RateLimit-Remaining-Minute"));
        Assert.Null(GatewayHttp.Header(grouped[0], "X-RateLimit-Limit-Hour"));
        Assert.Null(GatewayHttp.Header(grouped[0], "X-RateLimit-Limit-Second"));
        Assert.Equal("2", GatewayHttp.Header(grouped[0], "RateLimit-Limit"));
        Assert.Equal("1", GatewayHttp.Header(grouped[0], "RateLimit-Remaining"));
        Assert.Equal("0", GatewayHttp.Header(grouped[2], "X-RateLimit-Remaining-Minute"));
        Assert.InRange(int.Parse(GatewayHttp.Header(grouped[2], "Retry-After")!, CultureInfo.InvariantCulture), 1, 60);

        // The group's two requests were not counted in the shared windows: inference still gets all 4 of its hour.
        var shared = await SendAsync(gateway, "/v2/models", 5);
        Assert.Equal(4, shared.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.TooManyRequests, shared[4].StatusCode);
        Assert.Equal("4", GatewayHttp.Header(shared[0], "X-RateLimit-Limit-Hour"));
        Assert.Equal("3", GatewayHttp.Header(shared[0], "X-RateLimit-Remaining-Hour"));
        Assert.Equal("1000000", GatewayHttp.Header(shared[0], "X-RateLimit-Limit-Second"));
        Assert.Null(GatewayHttp.Header(shared[0], "X-RateLimit-Limit-Minute"));

        // Nor does the shared count touch the group's: still refused at its own limit, not the global one.
        var again = await SendAsync(gateway, "/preprocess/x", 1);
        Assert.Equal(HttpStatusCode.TooManyRequests, again[0].StatusCode);

        // Enabled=false, the section form of the switch: no limit and no headers.
        var off = await SendAsync(gateway, "/postprocess/x", 6);
        Assert.All(off, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Null(GatewayHttp.Header(off[0], "RateLimit-Limit"));
        foreach (var response in grouped.Concat(shared).Concat(again).Concat(off))
        {
            response.Dispose();
        }
    }

    [Theory]
    [InlineData("local")]
    [InlineData("redis")]
    public async Task GroupWithItsOwnWindows_64ClientsFor10Seconds_ExactlyItsLimitPassesInEachSecondWindow(string policy)
    {
        await using var redis = policy == "redis" ? await RedisServer.StartAsync() : null;
        await using var upstream = await StandIn.StartAsync("upstream-0");
        var settings = Settings(policy, redis);
        // The load goes to /v2 (inference): its own 5 a second, the global windows far above it.
        settings["Gateway__RateLimiting__Hour"] = "100000000";
        settings[Section + "inference"] = null;
        settings[Section + "inference__Second"] = "5";
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), settings);

        var result = await PolicySettings.HammerAsync([gateway], clients: 64, TimeSpan.FromSeconds(10));
        result.AssertExact(limit: 5, expectedWindows: 10);
    }

    [Theory]
    [InlineData("predict__Secnd", "5", "Gateway:RateLimiting:RouteGroups:predict:Secnd")]
    [InlineData("predict__Minute", "0", "Gateway:RateLimiting:RouteGroups:predict:Minute")]
    [InlineData("predict__Hour", "many", "Gateway:RateLimiting:RouteGroups:predict:Hour")]
    [InlineData("predict", "maybe", "Gateway:RateLimiting:RouteGroups:predict")]
    [InlineData("predicts__Second", "5", "Gateway:RateLimiting:RouteGroups:predicts")]
    [InlineData("inference__Second", "5", "Gateway:RateLimiting:RouteGroups:inference is 'true' and also has keys")]
    public async Task BadRouteGroupLimit_StopsStartUpNamingTheKey(string key, string value, string expected)
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        var settings = PolicySettings.On(second: 5, hour: 10_000);
        if (key.StartsWith("predict", StringComparison.Ordinal))
        {
            settings[Section + "predict"] = null;
        }

        settings[Section + key] = value;
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(GatewayProcess.AllServices(upstream), settings));

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, gateway.Output, StringComparison.Ordinal);
    }

    private static async Task<List<HttpResponseMessage>> SendAsync(ServiceProcess gateway, string path, int count)
    {
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < count; i++)
        {
            responses.Add(await gateway.Client.SendAsync(PolicySettings.Get(path, PolicySettings.BobKey)));
        }

        return responses;
    }
}
