using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>One gateway with API keys on (postprocessing excepted), header transformations, timeouts, CORS and a small header limit.</summary>
public sealed class PolicyFixture : IAsyncLifetime
{
    public const string DashboardUrl = "http://localhost:18888";

    public StandIn Upstream { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public HttpClient Client => Gateway.Client;

    public async Task InitializeAsync()
    {
        Upstream = await StandIn.StartAsync("upstream-0", (app, self) =>
        {
            StandIn.MapServices(app, self);
            app.MapGet("/slow", async (HttpContext context) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(20), context.RequestAborted);
                return Results.Ok();
            });
        });
        var settings = PolicySettings.On();
        settings["Gateway__KeyAuth__RouteGroups__postprocessing"] = "false";
        settings["Gateway__RouteGroups__inference__Request__Add__X-Added"] = "added-value";
        settings["Gateway__RouteGroups__inference__Request__Remove__0"] = "X-Remove-Me";
        settings["Gateway__RouteGroups__inference__Request__Rename__X-Old-Name"] = "X-New-Name";
        settings["Gateway__RouteGroups__preprocessing__Timeout"] = "00:00:01";
        settings["Gateway__RouteGroups__predict__Timeout"] = "00:00:01";
        settings["Gateway__Cors__AllowedOrigins__0"] = "https://app.example";
        settings["Gateway__MaxRequestHeadersTotalSize"] = "16384";
        settings["Gateway__TryIt__ApiKey"] = PolicySettings.AliceKey;
        settings["Gateway__TryIt__DashboardUrl"] = DashboardUrl + "/";
        Gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(Upstream), settings);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

public sealed class KeyAuthTests(PolicyFixture fixture) : IClassFixture<PolicyFixture>
{
    private HttpClient Client => fixture.Client;

    [Theory]
    [InlineData("/v2/models")]
    [InlineData("/preprocess/v1/anything")]
    public async Task Request_WithoutKey_Returns401WithChallengeAndNeverReachesUpstream(string path)
    {
        var marker = Guid.NewGuid().ToString();
        using var request = PolicySettings.Get(path, key: null);
        request.Headers.Add(StandIn.MarkerHeader, marker);
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Key realm=\"mlplatform\"", GatewayHttp.Header(response, "WWW-Authenticate"));
        Assert.Equal("""{"message":"No API key found in request"}""", await response.Content.ReadAsStringAsync());
        Assert.Empty(fixture.Upstream.WithMarker(marker));
    }

    [Fact]
    public async Task Predict_WithoutKey_Returns401()
    {
        using var response = await Client.SendAsync(GatewayHttp.Predict("mnist"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/try")]
    [InlineData("/try/tryit.js")]
    [InlineData("/try/tryit.css")]
    public async Task TryPage_WithoutKeyInDevelopment_Answers200(string path)
    {
        using var response = await Client.SendAsync(PolicySettings.Get(path, key: null));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TryPage_ItsConfiguredKey_IsWhatPredictAccepts()
    {
        var html = await Client.GetStringAsync("/try");
        var keyName = TryItPageTests.Attribute(html, "data-key-name");
        var key = TryItPageTests.Attribute(html, "data-api-key");
        Assert.Equal(PolicySettings.AliceKey, key);
        Assert.Equal(PolicyFixture.DashboardUrl, TryItPageTests.Attribute(html, "data-dashboard-url"));

        // As the page sends it: the key in its header, a traceparent of its own.
        var id = Guid.NewGuid().ToString();
        using var request = GatewayHttp.Predict("mnist");
        request.Headers.Add(keyName!, key);
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.Add("X-Request-Id", id);
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The trace the page links to is the one the services record the prediction in.
        Assert.All(fixture.Upstream.WithRequestId(id), hop => Assert.Contains("0af7651916cd43dd8448eb211c80319c", hop.TraceParent, StringComparison.Ordinal));
        Assert.Equal(3, fixture.Upstream.WithRequestId(id).Count());
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData("alice-key-012345678")]
    [InlineData("ALICE-KEY-0123456789")]
    public async Task Request_WithWrongKey_Returns401Unauthorized(string key)
    {
        using var response = await Client.SendAsync(PolicySettings.Get("/v2/models", key));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("""{"message":"Unauthorized"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Request_WithEmptyKey_Returns401NoKeyFound()
    {
        using var response = await Client.SendAsync(PolicySettings.Get("/v2/models", ""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("No API key found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var query = await Client.GetAsync("/v2/models?apikey=");
        Assert.Equal(HttpStatusCode.Unauthorized, query.StatusCode);
    }

    [Fact]
    public async Task Request_WithHeaderKey_ReachesUpstreamAsConsumerWithoutTheKey()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = PolicySettings.Get("/v2/models?x=1");
        request.Headers.Add(StandIn.MarkerHeader, marker);
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(fixture.Upstream.WithMarker(marker));
        Assert.Equal("alice-id", received.Headers["X-Consumer-ID"]);
        Assert.Equal("alice", received.Headers["X-Consumer-Username"]);
        Assert.False(received.Headers.ContainsKey("apikey"));
        Assert.Equal("?x=1", received.Query);
        Assert.True(received.Headers.ContainsKey("X-Forwarded-For"));
        Assert.True(received.Headers.ContainsKey("X-Forwarded-Proto"));
        Assert.True(received.Headers.ContainsKey("X-Forwarded-Host"));
        Assert.NotNull(GatewayHttp.Header(response, "X-Request-Id"));
    }

    [Fact]
    public async Task Request_WithQueryKey_ReachesUpstreamWithTheKeyRemovedFromTheQuery()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/models?a=1&apikey={PolicySettings.BobKey}&b=2");
        request.Headers.Add(StandIn.MarkerHeader, marker);
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(fixture.Upstream.WithMarker(marker));
        Assert.Equal("bob-id", received.Headers["X-Consumer-ID"]);
        Assert.DoesNotContain("apikey", received.Query, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("a=1", received.Query, StringComparison.Ordinal);
        Assert.Contains("b=2", received.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_WithDifferentKeysInHeaderAndQuery_Returns401()
    {
        using var request = PolicySettings.Get($"/v2/models?apikey={PolicySettings.BobKey}", PolicySettings.AliceKey);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("""{"message":"Unauthorized"}""", await response.Content.ReadAsStringAsync());

        // A valid key beside a wrong one is refused too: the gateway never picks one.
        using var mixed = PolicySettings.Get("/v2/models?apikey=wrong", PolicySettings.AliceKey);
        using var mixedResponse = await Client.SendAsync(mixed);
        Assert.Equal(HttpStatusCode.Unauthorized, mixedResponse.StatusCode);

        using var same = PolicySettings.Get($"/v2/models?apikey={PolicySettings.AliceKey}", PolicySettings.AliceKey);
        using var sameResponse = await Client.SendAsync(same);
        Assert.Equal(HttpStatusCode.OK, sameResponse.StatusCode);
    }

    [Fact]
    public async Task Request_WithForgedConsumerHeaders_UpstreamSeesOnlyTheRealConsumer()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = PolicySettings.Get("/v2/models");
        request.Headers.Add("X-Consumer-ID", "admin");
        request.Headers.Add("X-Consumer-Username", "admin");
        request.Headers.Add(StandIn.MarkerHeader, marker);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(fixture.Upstream.WithMarker(marker));
        Assert.Equal("alice-id", received.Headers["X-Consumer-ID"]);
        Assert.Equal("alice", received.Headers["X-Consumer-Username"]);

        // Where keys are off, forged consumer headers are still dropped.
        var open = Guid.NewGuid().ToString();
        using var unauthenticated = new HttpRequestMessage(HttpMethod.Get, "/postprocess/anything");
        unauthenticated.Headers.Add("X-Consumer-ID", "admin");
        unauthenticated.Headers.Add(StandIn.MarkerHeader, open);
        using var openResponse = await Client.SendAsync(unauthenticated);
        Assert.Equal(HttpStatusCode.OK, openResponse.StatusCode);
        Assert.False(Assert.Single(fixture.Upstream.WithMarker(open)).Headers.ContainsKey("X-Consumer-ID"));
    }

    [Fact]
    public async Task Request_With10KilobyteKey_Returns401()
    {
        using var response = await Client.SendAsync(PolicySettings.Get("/v2/models", new string('k', 10 * 1024)));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        using var query = await Client.GetAsync("/v2/models?apikey=" + new string('k', 10 * 1024));
        Assert.InRange((int)query.StatusCode, 400, 499);
    }

    [Fact]
    public async Task Request_WithUnicodeKey_IsMatchedByItsUtf8Hash()
    {
        using var query = await Client.GetAsync("/v2/models?apikey=" + Uri.EscapeDataString(PolicySettings.UnicodeKey));
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);

        // Kestrel reads raw UTF-8 header bytes as UTF-8, so the same key works in a header too.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/models");
        request.Headers.TryAddWithoutValidation("apikey", PolicySettings.UnicodeKey);
        using var client = new HttpClient(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 }) { BaseAddress = fixture.Gateway.BaseAddress };
        using var header = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, header.StatusCode);

        using var wrong = await Client.GetAsync("/v2/models?apikey=" + Uri.EscapeDataString("ключ-🔑-cle"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task Predict_WithKey_EveryHopReceivesTheConsumerAndForwardedHeaders()
    {
        var requestId = Guid.NewGuid().ToString();
        using var request = GatewayHttp.Predict("mnist");
        request.Headers.Add("apikey", PolicySettings.AliceKey);
        request.Headers.Add("X-Request-Id", requestId);
        request.Headers.Add("X-Consumer-ID", "forged");
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(requestId, GatewayHttp.Header(response, "X-Request-Id"));
        var hops = fixture.Upstream.WithRequestId(requestId).ToArray();
        Assert.Equal(3, hops.Length);
        Assert.All(hops, hop =>
        {
            Assert.Equal("alice-id", hop.Headers["X-Consumer-ID"]);
            Assert.False(hop.Headers.ContainsKey("apikey"));
            Assert.True(hop.Headers.ContainsKey("X-Forwarded-For"));
            Assert.False(hop.Headers.ContainsKey("Keep-Alive"));
        });
    }

    [Fact]
    public async Task AuthFailures_AreCountedByRouteGroupAndReason()
    {
        var before = await GatewayHttp.ReadMetricAsync(fixture.Gateway, "mlplatform_gateway_auth_failures_total", "reason=\"conflicting\"");
        using var response = await Client.SendAsync(PolicySettings.Get($"/v2/models?apikey={PolicySettings.BobKey}"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        var after = before;
        for (var i = 0; i < 50 && after == before; i++)
        {
            await Task.Delay(100);
            after = await GatewayHttp.ReadMetricAsync(fixture.Gateway, "mlplatform_gateway_auth_failures_total", "reason=\"conflicting\"");
        }

        Assert.Equal(before + 1, after);
    }

    [Fact]
    public async Task InferenceGroup_TransformsRequestHeaders()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = PolicySettings.Get("/v2/models");
        request.Headers.Add(StandIn.MarkerHeader, marker);
        request.Headers.Add("X-Remove-Me", "gone");
        request.Headers.Add("X-Old-Name", "kept-value");
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(fixture.Upstream.WithMarker(marker));
        Assert.False(received.Headers.ContainsKey("X-Remove-Me"));
        Assert.False(received.Headers.ContainsKey("X-Old-Name"));
        Assert.Equal("kept-value", received.Headers["X-New-Name"]);
        Assert.Equal("added-value", received.Headers["X-Added"]);
    }

    [Fact]
    public async Task ProxiedRoute_SlowerThanItsGroupTimeout_Returns504()
    {
        using var response = await Client.SendAsync(PolicySettings.Get("/preprocess/slow"));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Contains("Timeout", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_SlowerThanItsGroupTimeout_Returns504()
    {
        using var request = GatewayHttp.Predict("hang");
        request.Headers.Add("apikey", PolicySettings.AliceKey);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
    }

    [Fact]
    public async Task CorsPreflight_FromAnAllowedOrigin_IsAnsweredWithoutAKey()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/v1/models/mnist:predict");
        request.Headers.Add("Origin", "https://app.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "apikey, content-type");
        using var response = await Client.SendAsync(request);

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}");
        Assert.Equal("https://app.example", GatewayHttp.Header(response, "Access-Control-Allow-Origin"));

        using var other = new HttpRequestMessage(HttpMethod.Options, "/v1/models/mnist:predict");
        other.Headers.Add("Origin", "https://evil.example");
        other.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await Client.SendAsync(other);
        Assert.Null(GatewayHttp.Header(refused, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Request_WithHeadersOverTheLimit_Returns431()
    {
        using var request = PolicySettings.Get("/v2/models");
        request.Headers.Add("X-Big", new string('x', 20 * 1024));
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }
}
