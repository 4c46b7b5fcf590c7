using System.Net;
using System.Text.Json;

namespace MlPlatform.Gateway.Tests;

/// <summary>The gateway describes its own API: an OpenAPI document and a page to read it.</summary>
[Collection(StandInsCollection.Name)]
public sealed class ApiDocsTests(StandInsFixture fixture)
{
    [Fact]
    public async Task OpenApiDocument_Get_DescribesPredictBodiesAndStatuses()
    {
        using var document = JsonDocument.Parse(await fixture.Client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        var predict = paths.GetProperty("/v1/models/{model}:predict").GetProperty("post");
        Assert.Equal("Predict", predict.GetProperty("operationId").GetString());
        var bodies = predict.GetProperty("requestBody").GetProperty("content");
        foreach (var contentType in new[] { "image/png", "image/jpeg", "image/webp", "image/bmp", "application/json" })
        {
            Assert.True(bodies.TryGetProperty(contentType, out _), $"no request body for {contentType}");
        }

        var responses = predict.GetProperty("responses");
        foreach (var status in new[] { "200", "400", "404", "413", "502", "503", "504" })
        {
            Assert.True(responses.TryGetProperty(status, out _), $"no {status} response");
        }

        Assert.True(responses.GetProperty("200").GetProperty("content").TryGetProperty("application/json", out _));
    }

    [Fact]
    public async Task OpenApiDocument_Get_ListsNoProxiedOrInfrastructureRoute()
    {
        using var document = JsonDocument.Parse(await fixture.Client.GetStringAsync("/openapi/v1.json"));

        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.Equal(["/v1/models/{model}:predict"], paths);
    }

    [Fact]
    public async Task DocsPage_Get_ServesHtml()
    {
        using var response = await fixture.Client.GetAsync("/docs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);
    }
}
