using System.Net;
using System.Text.RegularExpressions;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>The development-only Try it page at /try: the page, its same-origin assets, and the settings it carries.</summary>
[Collection(StandInsCollection.Name)]
public sealed partial class TryItPageTests(StandInsFixture fixture)
{
    [Fact]
    public async Task TryPage_GetInDevelopment_ServesHtmlWithTheCanvasAndControls()
    {
        using var response = await fixture.Client.GetAsync("/try");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        foreach (var id in new[] { "digit-canvas", "clear", "predict", "upload", "result-label", "result-score", "top-k", "error", "trace-id", "trace-link" })
        {
            Assert.Contains($"id=\"{id}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("width=\"280\" height=\"280\"", html, StringComparison.Ordinal);
        Assert.Contains("type=\"file\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryPage_GetInDevelopment_CarriesTheDefaultDevelopmentKeyAndNoDashboard()
    {
        var html = await fixture.Client.GetStringAsync("/try");

        Assert.Equal("dev-key-change-me", Attribute(html, "data-api-key"));
        Assert.Equal("apikey", Attribute(html, "data-key-name"));
        Assert.Equal("", Attribute(html, "data-dashboard-url"));
    }

    [Fact]
    public async Task TryPage_Get_IsNeverCachedAndMayLoadNothingFromElsewhere()
    {
        using var response = await fixture.Client.GetAsync("/try");

        Assert.Equal("no-store", GatewayHttp.Header(response, "Cache-Control"));
        var policy = GatewayHttp.Header(response, "Content-Security-Policy");
        Assert.NotNull(policy);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
    }

    [Fact]
    public async Task TryPageAssets_EveryOneThePageReferences_Answers200FromThisOrigin()
    {
        var html = await fixture.Client.GetStringAsync("/try");

        var assets = AssetReference().Matches(html).Select(m => m.Groups["path"].Value).ToList();

        Assert.Contains("/try/tryit.js", assets);
        Assert.Contains("/try/tryit.css", assets);
        foreach (var asset in assets)
        {
            using var response = await fixture.Client.GetAsync(asset);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Theory]
    [InlineData("/try/tryit.js", "text/javascript")]
    [InlineData("/try/tryit.css", "text/css")]
    public async Task TryPageAsset_Get_AnswersItsContentType(string path, string mediaType)
    {
        using var response = await fixture.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", GatewayHttp.Header(response, "X-Content-Type-Options"));
    }

    [Fact]
    public async Task TryPageScript_Get_PostsToThePublicPredictRouteWithKeyAndTraceparent()
    {
        var script = await fixture.Client.GetStringAsync("/try/tryit.js");

        Assert.Contains(":predict`", script, StringComparison.Ordinal);
        Assert.Contains("canvas.toBlob", script, StringComparison.Ordinal);
        Assert.Contains("crypto.getRandomValues", script, StringComparison.Ordinal);
        Assert.Contains("traceparent", script, StringComparison.Ordinal);
        Assert.Contains("/traces/detail/", script, StringComparison.Ordinal);
        Assert.DoesNotMatch("https?://", script);
    }

    [Fact]
    public async Task OpenApiDocument_WithTryPage_DoesNotListIt()
    {
        var document = await fixture.Client.GetStringAsync("/openapi/v1.json");

        Assert.DoesNotContain("/try", document, StringComparison.Ordinal);
    }

    internal static string? Attribute(string html, string name)
    {
        var match = Regex.Match(html, $"{Regex.Escape(name)}=\"(?<value>[^\"]*)\"");
        return match.Success ? WebUtility.HtmlDecode(match.Groups["value"].Value) : null;
    }

    [GeneratedRegex("(?:src|href)=\"(?<path>/try/[^\"]+)\"")]
    private static partial Regex AssetReference();
}

/// <summary>Outside Development the gateway has no Try it page: /try is as unknown as any other path.</summary>
public sealed class TryItPageProductionTests : IAsyncLifetime
{
    private StandIn _upstream = null!;
    private ServiceProcess _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await StandIn.StartAsync("upstream-0");
        _gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(_upstream), new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            // Settings that would stop a development gateway: outside Development the page's options are not even read.
            ["Gateway__TryIt__ApiKey"] = "",
            ["Gateway__TryIt__DashboardUrl"] = "not an address",
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Theory]
    [InlineData("/try")]
    [InlineData("/try/")]
    [InlineData("/try/tryit.js")]
    [InlineData("/try/tryit.css")]
    public async Task TryPage_GetInProduction_Answers404LikeAnUnknownPath(string path)
    {
        using var unknown = await _gateway.Client.GetAsync("/no-such-page");
        using var response = await _gateway.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(unknown.Content.Headers.ContentType?.MediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("digit-canvas", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_InProduction_StillAnswers()
    {
        using var response = await _gateway.Client.SendAsync(GatewayHttp.Predict("mnist"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

/// <summary>A development gateway does not start with Try it settings the page could not use.</summary>
public sealed class TryItStartupTests
{
    [Fact]
    public async Task Start_InvalidTryItSettingsInDevelopment_ExitsNamingEachKey()
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", new Dictionary<string, string?>
        {
            ["services__preprocessing__http__0"] = "http://127.0.0.1:1",
            ["services__inference__http__0"] = "http://127.0.0.1:1",
            ["services__postprocessing__http__0"] = "http://127.0.0.1:1",
            ["Gateway__TryIt__ApiKey"] = "two words",
            ["Gateway__TryIt__DashboardUrl"] = "ftp://localhost:18888",
        });

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Gateway:TryIt:ApiKey", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("Gateway:TryIt:DashboardUrl", gateway.Output, StringComparison.Ordinal);
    }
}
