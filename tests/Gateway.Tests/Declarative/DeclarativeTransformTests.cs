using System.Net;
using System.Text;
using System.Text.Json;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>request-transformer, cors and request-size-limiting on routes of a declarative file, through the gateway to a stand-in that records what reaches it.</summary>
public sealed class DeclarativeTransformFixture() : AlphaKongFixture(Yaml)
{
    public const string Yaml = """
        _format_version: "3.0"
        services:
        - name: alpha
          url: http://alpha
          routes:
          - name: transformed
            paths: [/transformed]
            plugins:
            - name: request-transformer
              config:
                remove: {headers: [x-secret], querystring: [drop]}
                rename: {headers: ["x-old:x-new"], querystring: ["q:query"]}
                replace: {headers: ["x-tier:gold"]}
                add: {headers: ["x-added:yes"], querystring: ["source:gateway"], body: ["added:1"]}
                append: {headers: ["x-list:second"]}
          - name: rewritten
            paths: [/rewritten]
            plugins:
            - name: request-transformer
              config: {replace: {uri: /fixed/path}, http_method: PUT}
          - name: browser
            paths: [/browser]
            plugins:
            - name: cors
              config:
                origins: [https://app.example.com]
                methods: [GET, POST]
                credentials: true
                max_age: 600
          - name: small
            paths: [/small]
            plugins:
            - name: request-size-limiting
              config: {allowed_payload_size: 1, size_unit: kilobytes}
        """;
}

public sealed class DeclarativeTransformTests(DeclarativeTransformFixture fixture) : IClassFixture<DeclarativeTransformFixture>
{
    [Fact]
    public async Task RequestTransformer_ChangesHeadersQueryAndBody_InKongsOrder()
    {
        var marker = Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/transformed/x?q=cats&drop=1&keep=2")
        {
            Content = new StringContent("""{"text":"hi"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(StandIn.MarkerHeader, marker);
        request.Headers.Add("X-Secret", "s3cret");
        request.Headers.Add("X-Old", "value");
        request.Headers.Add("X-Tier", "bronze");
        request.Headers.Add("X-List", "first");
        using var response = await fixture.Gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var seen = Assert.Single(fixture.Alpha.WithMarker(marker));
        Assert.False(seen.Headers.ContainsKey("X-Secret"));
        Assert.False(seen.Headers.ContainsKey("X-Old"));
        Assert.Equal("value", seen.Headers["X-New"]);
        Assert.Equal("gold", seen.Headers["X-Tier"]);
        Assert.Equal("yes", seen.Headers["X-Added"]);
        Assert.Equal("first,second", seen.Headers["X-List"].Replace(", ", ",", StringComparison.Ordinal));
        Assert.Equal("?keep=2&query=cats&source=gateway", seen.Query);
        using var body = JsonDocument.Parse(seen.Body);
        Assert.Equal("hi", body.RootElement.GetProperty("text").GetString());
        Assert.Equal("1", body.RootElement.GetProperty("added").GetString());
    }

    [Fact]
    public async Task RequestTransformer_ReplaceUri_SendsThatPathAndMethod()
    {
        using var response = await fixture.Gateway.Client.GetAsync("/rewritten/anything?a=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = await GatewayHttp.ReadJsonAsync(response);
        Assert.Equal("/fixed/path", echo.GetProperty("path").GetString());
        Assert.Equal("PUT", echo.GetProperty("method").GetString());
        Assert.Equal("?a=1", echo.GetProperty("query").GetString());
    }

    [Fact]
    public async Task Cors_AnswersAPreflightItself_AndMarksAnswersForAllowedOrigins()
    {
        var before = fixture.Alpha.Requests.Count;
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/browser/x");
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using (var response = await fixture.Gateway.Client.SendAsync(preflight))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("https://app.example.com", GatewayHttp.Header(response, "Access-Control-Allow-Origin"));
            Assert.Equal("GET,POST", GatewayHttp.Header(response, "Access-Control-Allow-Methods"));
            Assert.Equal("true", GatewayHttp.Header(response, "Access-Control-Allow-Credentials"));
            Assert.Equal("600", GatewayHttp.Header(response, "Access-Control-Max-Age"));
        }

        Assert.Equal(before, fixture.Alpha.Requests.Count);

        using var actual = new HttpRequestMessage(HttpMethod.Get, "/browser/x");
        actual.Headers.Add("Origin", "https://app.example.com");
        using (var response = await fixture.Gateway.Client.SendAsync(actual))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("https://app.example.com", GatewayHttp.Header(response, "Access-Control-Allow-Origin"));
        }
    }

    [Fact]
    public async Task RequestSizeLimiting_RefusesALargerBody_AsKongDoes_AndForwardsASmallerOne()
    {
        using (var large = await fixture.Gateway.Client.PostAsync("/small/x", new ByteArrayContent(new byte[1025])))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
            Assert.Equal("Request size limit exceeded", (await GatewayHttp.ReadJsonAsync(large)).GetProperty("message").GetString());
        }

        using var small = await fixture.Gateway.Client.PostAsync("/small/x", new ByteArrayContent(new byte[1024]));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(1024, (await GatewayHttp.ReadJsonAsync(small)).GetProperty("bodyLength").GetInt64());
    }
}
