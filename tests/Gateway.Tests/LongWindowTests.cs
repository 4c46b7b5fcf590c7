using System.Net;

namespace MlPlatform.Gateway.Tests;

/// <summary>The windows longer than a second, and the upstream timing metric, each through a real gateway.</summary>
[Collection(RateLimitCollection.Name)]
public sealed class LongWindowTests
{
    [Theory]
    [InlineData("Minute")]
    [InlineData("Day")]
    [InlineData("Month")]
    [InlineData("Year")]
    public async Task Window_OverItsLimit_RejectsAndReportsThatWindow(string window)
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        var settings = PolicySettings.On();
        settings[$"Gateway__RateLimiting__{window}"] = "3";
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), settings);

        // Four requests must share one window; only a minute can end within the test, so start early in one.
        if (window == "Minute" && DateTimeOffset.UtcNow.Second >= 50)
        {
            var now = DateTimeOffset.UtcNow;
            await Task.Delay(TimeSpan.FromMilliseconds(((60 - now.Second) * 1000) - now.Millisecond + 5));
        }

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", PolicySettings.AliceKey));
            statuses.Add(response.StatusCode);
            Assert.Equal("3", GatewayHttp.Header(response, $"X-RateLimit-Limit-{window}"));
            Assert.Equal(Math.Max(0, 2 - i).ToString(System.Globalization.CultureInfo.InvariantCulture), GatewayHttp.Header(response, $"X-RateLimit-Remaining-{window}"));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                // Retry-After points at the end of the full window: never zero, never past the window's length.
                var retryAfter = response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero;
                Assert.InRange(retryAfter.TotalSeconds, 1, window switch { "Minute" => 60, "Day" => 86_400, "Month" => 31 * 86_400, _ => 366 * 86_400 });
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task ProxiedRequest_IsTimedByCluster()
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), PolicySettings.On());

        using var response = await gateway.Client.SendAsync(PolicySettings.Get("/v2/models", PolicySettings.AliceKey));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        double count = 0;
        for (var i = 0; i < 50 && count == 0; i++)
        {
            count = await GatewayHttp.ReadMetricAsync(gateway, "mlplatform_gateway_upstream_duration_seconds_count", "cluster=\"inference\"");
            await Task.Delay(count == 0 ? 100 : 0);
        }

        Assert.True(count >= 1, "no mlplatform.gateway.upstream.duration recorded for cluster inference");
    }
}
