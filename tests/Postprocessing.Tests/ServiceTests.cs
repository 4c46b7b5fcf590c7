using System.Net;
using MlPlatform.TestSupport;
using static MlPlatform.Postprocessing.Tests.PostprocessHttp;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>The conventions every service keeps: health, metrics, options checked at start.</summary>
[Collection(ServicesCollection.Name)]
public sealed class ServiceTests(ServicesFixture fixture)
{
    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task HealthEndpoints_AfterStart_Answer200(string path)
    {
        using var response = await fixture.Postprocessing.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_AfterRequests_CountThemByModelAndStatus()
    {
        const string Count = "http_server_request_duration_seconds_count";
        string[] wide = ["model=\"wide\"", "http_response_status_code=\"200\""];
        string[] unknown = ["model=\"unknown\"", "http_response_status_code=\"404\""];
        var client = fixture.Postprocessing.Client;
        var forwarded = await InferAsync(fixture.Inference.Client, TestModels.Wide, Request("x", [1, TestModels.WideClasses], new float[TestModels.WideClasses], binaryOutput: false));
        var before = await PrometheusMetrics.ReadAsync(client, Count, wide);
        var unknownBefore = await PrometheusMetrics.ReadAsync(client, Count, unknown);

        using (await PostprocessAsync(client, TestModels.Wide, forwarded))
        using (await PostprocessJsonAsync(client, "metrics-unknown-model", "{}"))
        {
        }

        Assert.Equal(before + 1, await PrometheusMetrics.ReadUntilAsync(client, before + 1, Count, wide));
        Assert.Equal(unknownBefore + 1, await PrometheusMetrics.ReadUntilAsync(client, unknownBefore + 1, Count, unknown));
        Assert.Equal(before + 1, await PrometheusMetrics.ReadAsync(client, "http_server_request_duration_seconds_bucket", [.. wide, "le=\"+Inf\""]));
        Assert.DoesNotContain("metrics-unknown-model", await client.GetStringAsync("/metrics"));
    }
}

/// <summary>Services started on their own: options they cannot run with, an inference service that is not there.</summary>
public sealed class StandaloneServiceTests
{
    [Fact]
    public async Task Postprocess_InferenceUnreachable_Answers502WithoutInternalAddress()
    {
        // Port 9 (discard) has no listener here, so every connection is refused.
        await using var service = await ServiceProcess.StartAsync("Services/Postprocessing", "MlPlatform.Postprocessing", new Dictionary<string, string?>
        {
            ["services__inference__http__0"] = "http://127.0.0.1:9",
        });

        using var response = await PostprocessJsonAsync(service.Client, TestModels.Animals, "{}");

        await BadInputTests.AssertProblemAsync(response, HttpStatusCode.BadGateway, ["model 'animals'", "retry later"]);
        Assert.DoesNotContain("127.0.0.1", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("5")]
    [InlineData("2147483648")]
    public async Task Start_BodyLimitOutOfRange_ExitsNamingTheSetting(string limit)
    {
        await using var service = ServiceProcess.Launch("Services/Postprocessing", "MlPlatform.Postprocessing", new Dictionary<string, string?>
        {
            ["Postprocessing__MaxRequestBodyBytes"] = limit,
            ["services__inference__http__0"] = "http://127.0.0.1:9",
        });

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(30));
        // The output stream may still be draining after the exit.
        await Task.Delay(200);

        Assert.Equal(1, exitCode);
        // One line, the setting first, not an unhandled exception's stack trace.
        var error = Assert.Single(service.Output.Split(Environment.NewLine), line => line.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith("error: Postprocessing:MaxRequestBodyBytes must be between 1024 and 1073741824", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", service.Output, StringComparison.Ordinal);
    }
}
