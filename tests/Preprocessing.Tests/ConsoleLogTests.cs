using System.Net;
using MlPlatform.TestSupport;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>A development console stays readable: calls to inference write no line per request at the default settings.</summary>
public sealed class ConsoleLogTests(BundledServicesFixture fixture) : IClassFixture<BundledServicesFixture>
{
    [Fact]
    public async Task Preprocess_FetchingTheConfigFromInference_LogsNoHttpClientOrPollyLines()
    {
        // The first request of a model fetches its config from inference, through the resilient HttpClient.
        using var response = await fixture.Preprocessing.Client.PostAsync(
            "/v1/preprocess/mnist", PreprocessHttp.Content(DigitImages.BlackOnWhite(HoldOutDigits.First(3)), "image/png"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Console lines are written from a queue, a moment after the request.
        await Task.Delay(500);

        var output = fixture.Preprocessing.Output;
        // The fixture runs the services in Development, with the log levels of their appsettings.json.
        Assert.Contains("Hosting environment: Development", output, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Net.Http.HttpClient", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Polly", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Execution attempt", output, StringComparison.Ordinal);
    }
}
