using System.Globalization;
using System.Net;
using System.Text.Json;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>The local policy: one gateway, Kong's default limits of seed 003 (5 a second, 10000 an hour) by consumer.</summary>
public sealed class LocalRateLimitFixture : IAsyncLifetime
{
    public StandIn Upstream { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await StandIn.StartAsync("upstream-0");
        Gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(Upstream), PolicySettings.On(second: 5, hour: 10_000));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

[Collection(RateLimitCollection.Name)]
public sealed class LocalRateLimitTests(LocalRateLimitFixture fixture) : IClassFixture<LocalRateLimitFixture>
{
    [Fact]
    public async Task Requests_OverTheSecondLimit_Get429WithRetryAfterAndRequestId_ThenTheWindowResets()
    {
        var client = fixture.Gateway.Client;
        var responses = new List<HttpResponseMessage>();
        // The eight must share one second window; a machine too slow for that this time tries
        // again from the next second, so the assertions below are about counting, not speed.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            foreach (var stale in responses)
            {
                stale.Dispose();
            }

            responses.Clear();
            await WaitForFreshSecondAsync();
            for (var i = 0; i < 8; i++)
            {
                var request = PolicySettings.Get("/v2/models", PolicySettings.BobKey);
                request.Headers.Add("X-Request-Id", $"limit-test-{i}");
                responses.Add(await client.SendAsync(request));
            }

            if (responses.Select(r => GatewayHttp.Header(r, "X-RateLimit-Window-Start-Second")).Distinct().Count() == 1)
            {
                break;
            }
        }

        var windows = responses.Select(r => GatewayHttp.Header(r, "X-RateLimit-Window-Start-Second")).Distinct().ToArray();
        Assert.Single(windows);
        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var first = responses[0];
        Assert.Equal("5", GatewayHttp.Header(first, "X-RateLimit-Limit-Second"));
        Assert.Equal("4", GatewayHttp.Header(first, "X-RateLimit-Remaining-Second"));
        Assert.Equal("10000", GatewayHttp.Header(first, "X-RateLimit-Limit-Hour"));
        Assert.Equal("5", GatewayHttp.Header(first, "RateLimit-Limit"));
        Assert.Equal("4", GatewayHttp.Header(first, "RateLimit-Remaining"));
        Assert.Equal("1", GatewayHttp.Header(first, "RateLimit-Reset"));

        var rejected = responses[6];
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Equal("1", GatewayHttp.Header(rejected, "Retry-After"));
        Assert.Equal("0", GatewayHttp.Header(rejected, "X-RateLimit-Remaining-Second"));
        using (var body = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync()))
        {
            Assert.Equal("API rate limit exceeded", body.RootElement.GetProperty("message").GetString());
            Assert.Equal("limit-test-6", body.RootElement.GetProperty("request_id").GetString());
        }

        // Refused requests are not counted: the hour window saw 5, not 8.
        var hourAfter = 10_000 - int.Parse(GatewayHttp.Header(responses[4], "X-RateLimit-Remaining-Hour")!, CultureInfo.InvariantCulture);
        Assert.Equal(hourAfter, 10_000 - int.Parse(GatewayHttp.Header(rejected, "X-RateLimit-Remaining-Hour")!, CultureInfo.InvariantCulture));
        foreach (var response in responses)
        {
            Assert.True(int.Parse(GatewayHttp.Header(response, "X-RateLimit-Remaining-Second")!, CultureInfo.InvariantCulture) >= 0);
            response.Dispose();
        }

        await WaitForFreshSecondAsync();
        using var next = await client.SendAsync(PolicySettings.Get("/v2/models", PolicySettings.BobKey));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("4", GatewayHttp.Header(next, "X-RateLimit-Remaining-Second"));
    }

    [Fact]
    public async Task RateLimitRejections_AreCountedByRouteGroupAndWindow()
    {
        // Send until the limit rejects one, however slow the machine: the assertion is about counting, not speed.
        var rejected = 0;
        for (var i = 0; i < 200 && rejected == 0; i++)
        {
            using var response = await fixture.Gateway.Client.SendAsync(PolicySettings.Get("/preprocess/x", PolicySettings.BobKey));
            rejected += response.StatusCode == HttpStatusCode.TooManyRequests ? 1 : 0;
        }

        Assert.Equal(1, rejected);
        double count = 0;
        for (var i = 0; i < 50 && count == 0; i++)
        {
            await Task.Delay(100);
            count = await GatewayHttp.ReadMetricAsync(fixture.Gateway, "mlplatform_gateway_ratelimit_rejections_total", "route_group=\"preprocessing\"");
        }

        Assert.True(count >= 1, "the rejection was not counted in mlplatform_gateway_ratelimit_rejections_total");
    }

    [Fact]
    public async Task LocalPolicy_64ClientsFor10Seconds_ExactlyFivePassInEachSecondWindow()
    {
        var result = await PolicySettings.HammerAsync([fixture.Gateway], clients: 64, TimeSpan.FromSeconds(10));
        result.AssertExact(limit: 5, expectedWindows: 10);
    }

    private static async Task WaitForFreshSecondAsync()
    {
        var now = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromMilliseconds(1005 - now.Millisecond));
    }
}

/// <summary>limit_by ip, header and path, each its own gateway.</summary>
[Collection(RateLimitCollection.Name)]
public sealed class LimitByTests
{
    [Theory]
    [InlineData("header")]
    [InlineData("path")]
    [InlineData("ip")]
    public async Task LimitBy_CountsPerIdentifier(string limitBy)
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        // A minute window, begun early in its minute: ten requests fit in it however slow the
        // machine, so the test is about what is counted together, not about speed.
        var settings = PolicySettings.On();
        settings["Gateway__RateLimiting__Minute"] = "3";
        settings["Gateway__RateLimiting__LimitBy"] = limitBy;
        settings["Gateway__RateLimiting__HeaderName"] = "X-Tenant";
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), settings);

        async Task<int> PassedAsync(string path, string tenant, string key)
        {
            var passed = 0;
            for (var i = 0; i < 5; i++)
            {
                using var request = PolicySettings.Get(path, key);
                request.Headers.Add("X-Tenant", tenant);
                using var response = await gateway.Client.SendAsync(request);
                passed += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            }

            return passed;
        }

        if (DateTimeOffset.UtcNow.Second >= 40)
        {
            var now = DateTimeOffset.UtcNow;
            await Task.Delay(TimeSpan.FromMilliseconds(((60 - now.Second) * 1000) - now.Millisecond + 5));
        }

        var first = await PassedAsync("/v2/a", "t1", PolicySettings.AliceKey);
        // Another consumer: counted apart only when limiting by consumer, which none of these does.
        var second = await PassedAsync(limitBy == "path" ? "/v2/b" : "/v2/a", limitBy == "header" ? "t2" : "t1", PolicySettings.BobKey);
        Assert.Equal(3, first);
        Assert.Equal(limitBy == "ip" ? 0 : 3, second);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RateLimitCollection
{
    public const string Name = "rate limits (timing-sensitive, run alone)";
}
