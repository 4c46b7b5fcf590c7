using System.Globalization;
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
    public async Task Metrics_AfterRequests_CountThemByModelAndOutcome()
    {
        var forwarded = await InferAsync(fixture.Inference.Client, TestModels.Wide, Request("x", [1, TestModels.WideClasses], new float[TestModels.WideClasses], binaryOutput: false));
        var before = await ReadMetricAsync("mlplatform_postprocessing_requests_total", "model=\"wide\",outcome=\"success\"");

        using (await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Wide, forwarded))
        using (await PostprocessJsonAsync(fixture.Postprocessing.Client, "metrics-unknown-model", "{}"))
        {
        }

        Assert.Equal(before + 1, await ReadMetricAsync("mlplatform_postprocessing_requests_total", "model=\"wide\",outcome=\"success\""));
        Assert.True(await ReadMetricAsync("mlplatform_postprocessing_requests_total", "model=\"unknown\",outcome=\"not_found\"") >= 1);
        var text = await fixture.Postprocessing.Client.GetStringAsync("/metrics");
        Assert.Contains("mlplatform_postprocessing_request_duration_seconds_bucket{", text);
        Assert.Contains("le=\"0.0001\"", text);
        Assert.DoesNotContain("metrics-unknown-model", text);
    }

    private async Task<double> ReadMetricAsync(string name, string labels)
    {
        var text = await fixture.Postprocessing.Client.GetStringAsync("/metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(labels, StringComparison.Ordinal))
            {
                return double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
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
