using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MlPlatform.TestSupport;

namespace MlPlatform.EndToEnd.Tests;

[Collection(PlatformCollection.Name)]
public sealed class PredictTests(PlatformFixture fixture)
{
    [Fact]
    public void Start_DefaultModel_RunsTheDefaultReplicaCounts()
    {
        Assert.Single(fixture.Platform.Replicas("gateway"));
        Assert.Equal(2, fixture.Platform.Replicas("preprocessing").Count);
        Assert.Equal(2, fixture.Platform.Replicas("inference").Count);
        Assert.Equal(2, fixture.Platform.Replicas("postprocessing").Count);
        Assert.Empty(fixture.Platform.Replicas("redis"));
    }

    [Fact]
    public async Task Predict_HeldOutDigitsAsBlackOnWhitePngs_AtLeast90PercentCorrect()
    {
        var digits = HoldOutDigits.Load();
        var correct = 0;
        var failures = new List<string>();
        await Parallel.ForEachAsync(digits, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (digit, cancellationToken) =>
        {
            using var content = new ByteArrayContent(DigitImages.BlackOnWhite(digit));
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var response = await fixture.Gateway.PostAsync("/v1/models/mnist:predict", content, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                lock (failures)
                {
                    failures.Add($"{(int)response.StatusCode}: {body}");
                }

                return;
            }

            using var json = JsonDocument.Parse(body);
            if (json.RootElement.GetProperty("predictions")[0].GetProperty("label").GetString() == digit.Label.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                Interlocked.Increment(ref correct);
            }
        });

        Assert.Empty(failures);
        var accuracy = (double)correct / digits.Count;
        Assert.True(accuracy >= 0.90, $"accuracy through the gateway is {accuracy:P1}, under 90 %");
    }

    [Fact]
    public async Task Predict_ResponseShape_HasLabelScoreTopKAndRequestId()
    {
        using var content = new ByteArrayContent(DigitImages.BlackOnWhite(HoldOutDigits.Load()[0]));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/mnist:predict") { Content = content };
        request.Headers.Add("X-Request-Id", "e2e-request-1");

        using var response = await fixture.Gateway.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("e2e-request-1", response.Headers.GetValues("X-Request-Id").Single());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var prediction = json.RootElement.GetProperty("predictions")[0];
        Assert.InRange(prediction.GetProperty("score").GetDouble(), 0.0, 1.0);
        Assert.Equal(3, prediction.GetProperty("top_k").GetArrayLength());
        Assert.Equal(prediction.GetProperty("label").GetString(), prediction.GetProperty("top_k")[0].GetProperty("label").GetString());
    }

    [Fact]
    public async Task Predict_WithTraceparent_SameTraceIdInAllFourServicesLogs()
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var content = new ByteArrayContent(DigitImages.BlackOnWhite(HoldOutDigits.Load()[1]));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/mnist:predict") { Content = content };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");

        using var response = await fixture.Gateway.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        string[] services = ["gateway", "preprocessing", "inference", "postprocessing"];
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string[] missing;
        do
        {
            missing = services.Where(s => !fixture.Platform.ConsoleLines(s).Any(l => l.Contains(traceId, StringComparison.Ordinal))).ToArray();
            if (missing.Length > 0)
            {
                await Task.Delay(200);
            }
        }
        while (missing.Length > 0 && DateTime.UtcNow < deadline);

        Assert.True(missing.Length == 0, $"trace {traceId} is missing from the logs of {string.Join(", ", missing)}");
    }

    [Theory]
    [InlineData("/preprocess/health")]
    [InlineData("/preprocess/alive")]
    [InlineData("/postprocess/metrics")]
    [InlineData("/postprocess/HEALTH/")]
    public async Task Gateway_ServiceInfrastructurePaths_AreNotReachable(string path)
    {
        using var response = await fixture.Gateway.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>The gateway's own endpoints answer on its management endpoint, the one its health check uses, and never on the public one.</summary>
    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/metrics")]
    public async Task Gateway_OwnEndpoints_OnItsManagementEndpointOnly(string path)
    {
        using var management = new HttpClient { BaseAddress = fixture.Platform.ServiceUrl("gateway", "management") };

        using var onManagement = await management.GetAsync(path);
        using var onPublic = await fixture.Gateway.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, onManagement.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);
        Assert.Equal("application/problem+json", onPublic.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Gateway_V2Route_ReachesInference()
    {
        using var json = JsonDocument.Parse(await fixture.Gateway.GetStringAsync("/v2/models/mnist"));

        Assert.Equal("mnist", json.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Predict_KServeInstances_OneBatchOfSeveralPredictions()
    {
        var digits = HoldOutDigits.Load().Take(3).ToArray();
        var instances = string.Join(",", digits.Select(d => $$"""{"b64":"{{Convert.ToBase64String(DigitImages.BlackOnWhite(d))}}"}"""));

        using var response = await fixture.Gateway.PostAsync(
            "/v1/models/mnist:predict", new StringContent($$"""{"instances":[{{instances}}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var labels = json.RootElement.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("label").GetString()).ToArray();
        Assert.Equal(digits.Select(d => d.Label.ToString(System.Globalization.CultureInfo.InvariantCulture)), labels);
    }
}
