using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MlPlatform.TestSupport;

namespace MlPlatform.EndToEnd.Tests;

/// <summary>What a careless or hostile client sends to predict, through the gateway: always a 4xx naming the problem.</summary>
[Collection(PlatformCollection.Name)]
public sealed class BadInputTests(PlatformFixture fixture)
{
    public static TheoryData<string, string, byte[], int> BadBodies()
    {
        var png = DigitImages.BlackOnWhite(HoldOutDigits.Load()[0]);
        return new()
        {
            { "not an image", "image/png", Encoding.UTF8.GetBytes("definitely not a png"), 400 },
            { "truncated PNG", "image/png", png[..(png.Length / 2)], 400 },
            { "20,000 x 20,000 header", "image/png", DigitImages.PngHeader(20_000, 20_000), 413 },
            { "empty body", "image/png", [], 400 },
            { "wrong content type", "text/plain", Encoding.UTF8.GetBytes("7"), 415 },
            { "base64 that is not base64", "application/json", Encoding.UTF8.GetBytes("""{"instances":[{"b64":"%%% not base64 %%%"}]}"""), 400 },
            { "instances of the wrong shape", "application/json", Encoding.UTF8.GetBytes("""{"instances":[[1,2,3]]}"""), 400 },
            { "JSON that is not an object", "application/json", Encoding.UTF8.GetBytes("[1,2]"), 400 },
            { "broken JSON", "application/json", Encoding.UTF8.GetBytes("""{"instances":[ """), 400 },
        };
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Predict_BadBody_ClientErrorWithProblemDetails(string problem, string contentType, byte[] body, int expectedStatus)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);

        using var response = await fixture.Gateway.PostAsync("/v1/models/mnist:predict", content);

        Assert.True((int)response.StatusCode == expectedStatus, $"{problem}: expected {expectedStatus}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("detail").GetString()), problem);
    }

    [Fact]
    public async Task Predict_UnknownModel_404NamingTheModel()
    {
        using var content = new ByteArrayContent(DigitImages.BlackOnWhite(HoldOutDigits.Load()[0]));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");

        using var response = await fixture.Gateway.PostAsync("/v1/models/no-such-model:predict", content);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no-such-model", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Predict_BodyOverTheLimit_413()
    {
        using var content = new ByteArrayContent(new byte[(8 * 1024 * 1024) + 1]);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");

        using var response = await fixture.Gateway.PostAsync("/v1/models/mnist:predict", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }
}
