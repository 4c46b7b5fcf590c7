using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Gateway.Tests;

/// <summary>The predict pipeline over stand-ins that record every hop: what each hop gets, and what the client gets when one fails.</summary>
[Collection(StandInsCollection.Name)]
public sealed class PredictTests(StandInsFixture fixture)
{
    [Fact]
    public async Task Predict_Image_PassesEachHopsOutputToTheNextAndAnswersPostprocessing()
    {
        var id = Guid.NewGuid().ToString();
        var image = new byte[300];
        Random.Shared.NextBytes(image);
        var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var request = GatewayHttp.Predict("mnist", content);
        request.Headers.Add("X-Request-Id", id);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(CannedBodies.Predictions, await response.Content.ReadAsStringAsync());

        var preprocessed = Assert.Single(fixture.Preprocessing.SelectMany(s => s.WithRequestId(id)));
        Assert.Equal("/v1/preprocess/mnist", preprocessed.Path);
        Assert.Equal("image/png", preprocessed.ContentType);
        Assert.Equal(image, preprocessed.Body);

        var inferred = Assert.Single(fixture.Inference[0].WithRequestId(id));
        Assert.Equal("/v2/models/mnist/infer", inferred.Path);
        Assert.Equal(ProtocolParameters.BinaryContentType, inferred.ContentType);
        Assert.Equal(CannedBodies.RequestHeaderLength.ToString(CultureInfo.InvariantCulture), inferred.InferenceHeaderLength);
        Assert.Equal(CannedBodies.Request, inferred.Body);

        var postprocessed = Assert.Single(fixture.Postprocessing.SelectMany(s => s.WithRequestId(id)));
        Assert.Equal("/v1/postprocess/mnist", postprocessed.Path);
        Assert.Equal(ProtocolParameters.BinaryContentType, postprocessed.ContentType);
        Assert.Equal(CannedBodies.ResponseHeaderLength.ToString(CultureInfo.InvariantCulture), postprocessed.InferenceHeaderLength);
        Assert.Equal(CannedBodies.Response, postprocessed.Body);
    }

    [Fact]
    public async Task Predict_JsonInstances_ForwardsTheClientsContentType()
    {
        var id = Guid.NewGuid().ToString();
        using var request = GatewayHttp.Predict("mnist", GatewayHttp.Json("""{"instances":[[0.0,1.0]]}"""));
        request.Headers.Add("X-Request-Id", id);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var preprocessed = Assert.Single(fixture.Preprocessing.SelectMany(s => s.WithRequestId(id)));
        Assert.Equal("application/json; charset=utf-8", preprocessed.ContentType);
        Assert.Equal("""{"instances":[[0.0,1.0]]}"""u8.ToArray(), preprocessed.Body);
    }

    [Fact]
    public async Task Predict_WithoutRequestId_GeneratesOneAndSendsItToEveryHop()
    {
        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict("mnist"));

        var id = GatewayHttp.Header(response, "X-Request-Id");
        Assert.True(Guid.TryParse(id, out _), $"'{id}' is not a GUID");
        Assert.Single(fixture.Preprocessing.SelectMany(s => s.WithRequestId(id!)));
        Assert.Single(fixture.Inference[0].WithRequestId(id!));
        Assert.Single(fixture.Postprocessing.SelectMany(s => s.WithRequestId(id!)));
    }

    [Fact]
    public async Task Predict_WithTraceparent_EveryHopJoinsTheClientsTrace()
    {
        var id = Guid.NewGuid().ToString();
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var clientSpan = ActivitySpanId.CreateRandom().ToHexString();
        using var request = GatewayHttp.Predict("mnist");
        request.Headers.Add("X-Request-Id", id);
        request.Headers.Add("traceparent", $"00-{traceId}-{clientSpan}-01");

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var hops = fixture.All.SelectMany(s => s.WithRequestId(id)).ToList();
        Assert.Equal(3, hops.Count);
        Assert.All(hops, hop =>
        {
            Assert.NotNull(hop.TraceParent);
            var parts = hop.TraceParent!.Split('-');
            Assert.Equal(traceId, parts[1]);
            Assert.NotEqual(clientSpan, parts[2]);
        });
    }

    [Theory]
    [InlineData("reject", 400, "preprocessing", "the body is not a PNG, JPEG, WebP or BMP image")]
    [InlineData("unknown-model", 404, "preprocessing", "model 'unknown-model' is not in the repository")]
    [InlineData("badshape", 400, "inference", "input 'input': shape [1,3] does not match [-1,1,28,28]")]
    [InlineData("postfail", 422, "postprocessing", "output 'probabilities' is missing")]
    public async Task Predict_HopRejects_ClientGetsItsStatusWithProblemNamingTheHop(string model, int status, string hop, string detail)
    {
        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict(model));

        Assert.Equal(status, (int)response.StatusCode);
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal($"{hop} rejected the request", problem.GetProperty("title").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.Equal(hop, problem.GetProperty("hop").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal(32, problem.GetProperty("traceId").GetString()!.Length);
        Assert.NotNull(GatewayHttp.Header(response, "X-Request-Id"));
    }

    [Fact]
    public async Task Predict_OneReplicaAnswers500_RetriedOnTheOtherAndSucceeds()
    {
        var before = await GatewayHttp.ReadMetricAsync(fixture.Gateway, "mlplatform_gateway_retries_total", "service=\"preprocessing\"");
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var id = Guid.NewGuid().ToString();
            ids.Add(id);
            using var request = GatewayHttp.Predict("flaky");
            request.Headers.Add("X-Request-Id", id);
            using var response = await fixture.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var failedFirst = ids.Count(id => fixture.Preprocessing[0].WithRequestId(id).Any());
        Assert.True(failedFirst > 0, "the failing replica was never chosen first; the retry went untested");
        Assert.All(ids, id => Assert.Single(fixture.Preprocessing[1].WithRequestId(id)));
        var after = await GatewayHttp.ReadMetricAsync(fixture.Gateway, "mlplatform_gateway_retries_total", "service=\"preprocessing\"");
        Assert.Equal(failedFirst, after - before);
    }

    [Fact]
    public async Task Predict_InferenceQueueFull_Answers503WithRetryAfterNamingTheHop()
    {
        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict("overloaded"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("3", GatewayHttp.Header(response, "Retry-After"));
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal("inference is overloaded", problem.GetProperty("title").GetString());
        Assert.Equal("inference", problem.GetProperty("hop").GetString());
        Assert.Contains("queue is full", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Predict_HopHangs_Answers504NamingTheHopWithinItsTimeout()
    {
        var stopwatch = Stopwatch.StartNew();

        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict("hang"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(stopwatch.Elapsed < StandInsFixture.HopTimeout + TimeSpan.FromSeconds(4), $"took {stopwatch.Elapsed}");
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal("preprocessing timed out", problem.GetProperty("title").GetString());
        Assert.Equal("preprocessing", problem.GetProperty("hop").GetString());
    }

    [Fact]
    public async Task Predict_BodyOverLimit_Answers413WithoutCallingAnyHop()
    {
        var id = Guid.NewGuid().ToString();
        using var request = GatewayHttp.Predict("mnist", GatewayHttp.Png(StandInsFixture.BodyLimit + 1));
        request.Headers.Add("X-Request-Id", id);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Contains(StandInsFixture.BodyLimit.ToString(CultureInfo.InvariantCulture), problem.GetProperty("detail").GetString());
        Assert.Empty(fixture.All.SelectMany(s => s.WithRequestId(id)));
    }

    [Fact]
    public async Task Predict_ChunkedBodyOverLimit_Answers413WithoutCallingAnyHop()
    {
        var id = Guid.NewGuid().ToString();
        var content = new StreamContent(new MemoryStream(new byte[StandInsFixture.BodyLimit + 10]));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var request = GatewayHttp.Predict("mnist", content);
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Add("X-Request-Id", id);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
        Assert.Empty(fixture.All.SelectMany(s => s.WithRequestId(id)));
    }

    [Fact]
    public async Task Predict_BodyExactlyAtLimit_IsAccepted()
    {
        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict("mnist", GatewayHttp.Png(StandInsFixture.BodyLimit)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Predict_ManyRequests_SpreadOverEveryReplica()
    {
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var id = Guid.NewGuid().ToString();
            ids.Add(id);
            using var request = GatewayHttp.Predict("mnist");
            request.Headers.Add("X-Request-Id", id);
            using var response = await fixture.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.All(fixture.Preprocessing, replica => Assert.Contains(ids, id => replica.WithRequestId(id).Any()));
        Assert.All(fixture.Postprocessing, replica => Assert.Contains(ids, id => replica.WithRequestId(id).Any()));
    }

    [Fact]
    public async Task Predict_Get_Answers405()
    {
        using var response = await fixture.Client.GetAsync("/v1/models/mnist:predict");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_AfterAPrediction_CountItInRequestDurationByModel()
    {
        const string Requests = "http_server_request_duration_seconds_count";
        const string Mnist = "model=\"mnist\"";
        var before = await GatewayHttp.ReadMetricAsync(fixture.Gateway, Requests, Mnist);

        using (var response = await fixture.Client.SendAsync(GatewayHttp.Predict("mnist")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The server records a request when its response is done, which can be just after the client has read it.
        var after = before;
        for (var attempt = 0; attempt < 50 && after < before + 1; attempt++)
        {
            await Task.Delay(100);
            after = await GatewayHttp.ReadMetricAsync(fixture.Gateway, Requests, Mnist);
        }

        Assert.True(after >= before + 1, $"{Requests}{{...{Mnist}...}} went from {before} to {after}");
        var text = await fixture.Gateway.ManagementClient.GetStringAsync("/metrics");
        Assert.Contains("mlplatform_gateway_hop_duration_seconds_bucket{", text);
    }
}
