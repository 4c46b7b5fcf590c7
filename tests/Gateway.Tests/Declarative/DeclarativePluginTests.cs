using System.Net;
using System.Text.Json;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// key-auth and rate-limiting at service, route and consumer scope, and Kong's precedence between them: a consumer's
/// own plugin replaces its service's, a route's its service's.
/// </summary>
public sealed class DeclarativePluginFixture() : AlphaKongFixture(Yaml)
{
    public const string AliceKey = "alice-key-0123456789";
    public const string BobKey = "bob-key-9876543210";
    public const string CarolKey = "carol-key-5555555555";

    public static readonly string Yaml = $$"""
        _format_version: "3.0"
        services:
        - name: alpha
          url: http://alpha
          plugins:
          - name: key-auth
            config:
              key_names: [apikey, x-api-key]
              hide_credentials: true
          - name: rate-limiting
            config: {second: 5, hour: 10000, policy: local}
          routes:
          - name: limited
            paths: [/limited]
          - name: open
            paths: [/open]
            plugins:
            - name: rate-limiting
              config: {minute: 1000, hide_client_headers: true, error_code: 503, error_message: "slow down"}
          - name: guest
            paths: [/guest]
            plugins:
            - name: key-auth
              config: {anonymous: guest, key_in_header: false}
        consumers:
        - username: alice
          custom_id: alice-1
          keyauth_credentials:
          - key: {{AliceKey}}
        - username: bob
          keyauth_credentials:
          - key: sha256:{{PolicySettings.Hash(BobKey)}}
          plugins:
          - name: rate-limiting
            config: {second: 100, hour: 1000000, policy: local}
        - username: carol
          keyauth_credentials:
          - key: {{CarolKey}}
        - username: guest
        """;
}

[Collection(RateLimitCollection.Name)]
public sealed class DeclarativePluginTests(DeclarativePluginFixture fixture) : IClassFixture<DeclarativePluginFixture>
{
    private HttpClient Client => fixture.Gateway.Client;

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized, "No API key found in request")]
    [InlineData("", HttpStatusCode.Unauthorized, "No API key found in request")]
    [InlineData("wrong-key", HttpStatusCode.Unauthorized, "Unauthorized")]
    [InlineData("ALICE-KEY-0123456789", HttpStatusCode.Unauthorized, "Unauthorized")]
    [InlineData("sha256:0000000000000000000000000000000000000000000000000000000000000000", HttpStatusCode.Unauthorized, "Unauthorized")]
    public async Task KeyAuth_RefusesAsKongDoes(string? key, HttpStatusCode status, string message)
    {
        using var response = await Client.SendAsync(PolicySettings.Get("/limited/x", key));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("Key realm=\"mlplatform\"", GatewayHttp.Header(response, "WWW-Authenticate"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(message, body.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task KeyAuth_NamesTheConsumerUpstream_HidesTheKey_AndDropsConsumerHeadersAClientSent()
    {
        var marker = Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/open/x?apikey=" + DeclarativePluginFixture.AliceKey + "&keep=1");
        request.Headers.Add(StandIn.MarkerHeader, marker);
        request.Headers.Add("X-Consumer-Username", "bob");
        request.Headers.Add("X-Anonymous-Consumer", "true");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Alpha.WithMarker(marker));
        Assert.Equal("alice", seen.Headers["X-Consumer-ID"]);
        Assert.Equal("alice", seen.Headers["X-Consumer-Username"]);
        Assert.Equal("alice-1", seen.Headers["X-Consumer-Custom-ID"]);
        Assert.False(seen.Headers.ContainsKey("X-Anonymous-Consumer"));
        Assert.Equal("?keep=1", seen.Query);
        Assert.DoesNotContain(DeclarativePluginFixture.AliceKey, string.Join(",", seen.Headers.Values) + seen.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyAuth_SecondKeyName_AndConflictingKeys()
    {
        using var second = new HttpRequestMessage(HttpMethod.Get, "/open/x");
        second.Headers.Add("x-api-key", DeclarativePluginFixture.CarolKey);
        using (var response = await Client.SendAsync(second))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var both = new HttpRequestMessage(HttpMethod.Get, "/open/x");
        both.Headers.Add("apikey", DeclarativePluginFixture.AliceKey);
        both.Headers.Add("x-api-key", DeclarativePluginFixture.CarolKey);
        using var conflicting = await Client.SendAsync(both);
        Assert.Equal(HttpStatusCode.Unauthorized, conflicting.StatusCode);
    }

    [Fact]
    public async Task RoutePlugin_ReplacesTheServices_AnonymousConsumerGoesOn()
    {
        var marker = Guid.NewGuid().ToString("N");
        // The route's key-auth reads no header: the key there is ignored and the request goes on as the guest.
        using var request = PolicySettings.Get("/guest/x", DeclarativePluginFixture.AliceKey);
        request.Headers.Add(StandIn.MarkerHeader, marker);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(fixture.Alpha.WithMarker(marker));
        Assert.Equal("guest", seen.Headers["X-Consumer-Username"]);
        Assert.Equal("true", seen.Headers["X-Anonymous-Consumer"]);

        // /open's own rate-limiting: no client headers, its own limit, not the service's 5 a second.
        for (var i = 0; i < 12; i++)
        {
            using var open = await Client.SendAsync(PolicySettings.Get("/open/x", DeclarativePluginFixture.CarolKey));
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
            Assert.Null(GatewayHttp.Header(open, "X-RateLimit-Limit-Second"));
            Assert.Null(GatewayHttp.Header(open, "RateLimit-Limit"));
        }
    }

    [Fact]
    public async Task ServiceLimit_RefusesWithKongsHeadersAndBody()
    {
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 50 && refused is null; i++)
        {
            var response = await Client.SendAsync(PolicySettings.Get("/limited/x", DeclarativePluginFixture.CarolKey));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("5", GatewayHttp.Header(response, "X-RateLimit-Limit-Second"));
                Assert.Equal("10000", GatewayHttp.Header(response, "X-RateLimit-Limit-Hour"));
                response.Dispose();
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal("0", GatewayHttp.Header(refused, "X-RateLimit-Remaining-Second"));
            Assert.NotNull(GatewayHttp.Header(refused, "Retry-After"));
            using var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal("API rate limit exceeded", body.RootElement.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task ConsumerLimits_FiveAndAHundredASecond_AreBothExactUnder64Clients()
    {
        // Both consumers at once: alice under the service's 5 a second, bob under his own 100.
        var alice = PolicySettings.HammerAsync([fixture.Gateway.Process], clients: 64, TimeSpan.FromSeconds(8), "/limited/a", DeclarativePluginFixture.AliceKey);
        var bob = PolicySettings.HammerAsync([fixture.Gateway.Process], clients: 64, TimeSpan.FromSeconds(8), "/limited/b", DeclarativePluginFixture.BobKey);
        (await alice).AssertExact(limit: 5, expectedWindows: 8);
        (await bob).AssertExact(limit: 100, expectedWindows: 8, demandFactor: 3);
    }
}
