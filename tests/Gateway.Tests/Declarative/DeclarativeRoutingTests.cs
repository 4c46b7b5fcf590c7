using System.Net;
using System.Text.Json;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>One gateway routed by a declarative file over stand-in services that echo what reaches them.</summary>
public sealed class DeclarativeRoutingFixture : IAsyncLifetime
{
    public const string Yaml = """
        _format_version: "3.0"
        services:
        - name: alpha
          url: http://alpha/base
          routes:
          - name: strip
            paths: [/strip]
            strip_path: true
          - name: keep
            paths: [/keep]
            strip_path: false
          - name: models-regex
            paths: ['~/models/[a-z]+/infer$']
            methods: [POST]
            strip_path: false
          - name: alternatives
            paths: ['~/one$|/two$', '~/th+ree$']
            strip_path: false
          - name: by-host
            hosts: [api.example.com, '*.wild.example']
            paths: [/hosted]
          - name: by-header
            headers:
              x-version: [v2, v3]
            paths: [/hosted]
          - name: preserve
            paths: [/preserve]
            preserve_host: true
        - name: beta
          url: http://beta
          routes:
          - name: longer
            paths: [/keep/longer]
        """;

    public StandIn Alpha { get; private set; } = null!;

    public StandIn Beta { get; private set; } = null!;

    public KongGateway Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Alpha = await StandIn.StartAsync("alpha-0");
        Beta = await StandIn.StartAsync("beta-0");
        Gateway = await KongGateway.StartAsync(Yaml, new Dictionary<string, Uri[]> { ["alpha"] = [Alpha.Address], ["beta"] = [Beta.Address] });
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Alpha.DisposeAsync();
        await Beta.DisposeAsync();
    }
}

public sealed class DeclarativeRoutingTests(DeclarativeRoutingFixture fixture) : IClassFixture<DeclarativeRoutingFixture>
{
    [Theory]
    [InlineData("/strip/a/b?x=1", "alpha-0", "/base/a/b", "?x=1")]
    [InlineData("/strip", "alpha-0", "/base", "")]
    [InlineData("/keep/a", "alpha-0", "/base/keep/a", "")]
    // Kong's prefixes are string prefixes, not segments.
    [InlineData("/keepsake", "alpha-0", "/base/keepsake", "")]
    // The longer prefix wins, whatever the order of the file; strip_path is on unless a route says otherwise.
    [InlineData("/keep/longer/x", "beta-0", "/x", "")]
    public async Task Paths_AreRoutedAndRewrittenAsKongDoes(string path, string service, string upstreamPath, string query)
    {
        using var response = await fixture.Gateway.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = await GatewayHttp.ReadJsonAsync(response);
        Assert.Equal(service, echo.GetProperty("service").GetString());
        Assert.Equal(upstreamPath, echo.GetProperty("path").GetString());
        Assert.Equal(query, echo.GetProperty("query").GetString() ?? "");
    }

    [Theory]
    [InlineData("/one", true)]
    [InlineData("/two", true)]
    [InlineData("/three", true)]
    [InlineData("/thhhree", true)]
    [InlineData("/tree", false)]
    [InlineData("/one/more", false)]
    public async Task RegexPaths_WithAlternativesAndQuantifiers_MatchAsTheirPatternSays(string path, bool routed)
    {
        using var response = await fixture.Gateway.Client.GetAsync(path);
        if (routed)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("/base" + path, (await GatewayHttp.ReadJsonAsync(response)).GetProperty("path").GetString());
        }
        else
        {
            await AssertNoRouteAsync(response);
        }
    }

    [Fact]
    public async Task RegexPath_MatchesOnlyItsMethodAndPattern()
    {
        using var matched = await fixture.Gateway.Client.PostAsync("/models/mnist/infer", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.OK, matched.StatusCode);
        Assert.Equal("/base/models/mnist/infer", (await GatewayHttp.ReadJsonAsync(matched)).GetProperty("path").GetString());

        using var wrongMethod = await fixture.Gateway.Client.GetAsync("/models/mnist/infer");
        await AssertNoRouteAsync(wrongMethod);
        using var wrongPattern = await fixture.Gateway.Client.PostAsync("/models/MNIST9/infer", new StringContent("{}"));
        await AssertNoRouteAsync(wrongPattern);
    }

    [Theory]
    [InlineData("api.example.com", null, true)]
    [InlineData("API.Example.com:8443", null, true)]
    [InlineData("a.wild.example", null, true)]
    [InlineData("wild.example", null, false)]
    [InlineData("other.example.com", "v3", true)]
    [InlineData("other.example.com", "v1", false)]
    [InlineData("other.example.com", null, false)]
    public async Task HostsAndHeaders_MustMatch(string host, string? version, bool routed)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hosted");
        request.Headers.Host = host;
        if (version is not null)
        {
            request.Headers.Add("X-Version", version);
        }

        using var response = await fixture.Gateway.Client.SendAsync(request);
        if (routed)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await AssertNoRouteAsync(response);
        }
    }

    [Fact]
    public async Task PreserveHost_SendsTheClientsHost_OtherRoutesTheServices()
    {
        var marker = Guid.NewGuid().ToString("N");
        foreach (var path in new[] { "/preserve", "/keep" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = "client.example";
            request.Headers.Add(StandIn.MarkerHeader, marker + path);
            using var response = await fixture.Gateway.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal("client.example", Assert.Single(fixture.Alpha.WithMarker(marker + "/preserve")).Headers["Host"]);
        Assert.NotEqual("client.example", Assert.Single(fixture.Alpha.WithMarker(marker + "/keep")).Headers["Host"]);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/nothing/here")]
    [InlineData("/v2/models")]
    [InlineData("/STRIP/a")]
    public async Task UnroutedPaths_GetKongs404(string path)
    {
        using var response = await fixture.Gateway.Client.GetAsync(path);
        await AssertNoRouteAsync(response);
    }

    [Fact]
    public async Task ManagementPort_ForwardsNothing_AndThePublicPortServesNoMetrics()
    {
        using var management = await fixture.Gateway.Process.ManagementClient.GetAsync("/strip/a");
        Assert.Equal(HttpStatusCode.NotFound, management.StatusCode);
        using var metrics = await fixture.Gateway.Client.GetAsync("/metrics");
        await AssertNoRouteAsync(metrics);
        using var health = await fixture.Gateway.Process.ManagementClient.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static async Task AssertNoRouteAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("no Route matched with those values", body.RootElement.GetProperty("message").GetString());
    }
}
