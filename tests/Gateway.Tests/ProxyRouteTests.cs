using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Gateway.Tests;

/// <summary>The Ingress-like path routes: which service gets a request, with which path, and what comes back.</summary>
[Collection(StandInsCollection.Name)]
public sealed class ProxyRouteTests(StandInsFixture fixture)
{
    [Theory]
    [InlineData("/preprocess/v1/preprocess/mnist", "preprocessing", "/v1/preprocess/mnist")]
    [InlineData("/preprocess/anything/deeper", "preprocessing", "/anything/deeper")]
    [InlineData("/postprocess/v1/postprocess/mnist", "postprocessing", "/v1/postprocess/mnist")]
    [InlineData("/v2", "inference", "/v2")]
    [InlineData("/v2/models/mnist", "inference", "/v2/models/mnist")]
    [InlineData("/v2/health/ready", "inference", "/v2/health/ready")]
    public async Task Route_Get_ReachesItsServiceWithThePathItExpects(string path, string service, string forwardedPath)
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, path + "?q=1");
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(fixture.All.SelectMany(s => s.WithMarker(marker).Select(r => (s.Name, r))));
        Assert.StartsWith(service + "-", received.Name, StringComparison.Ordinal);
        Assert.Equal(forwardedPath, received.r.Path);
        Assert.EndsWith("?q=1", received.r.RawTarget, StringComparison.Ordinal);
        var echo = await GatewayHttp.ReadJsonAsync(response);
        Assert.Equal(forwardedPath, echo.GetProperty("path").GetString());
    }

    [Fact]
    public async Task V2Infer_BinaryBody_ForwardsBodyAndProtocolHeadersBothWays()
    {
        var marker = Guid.NewGuid().ToString();
        var content = new ByteArrayContent(CannedBodies.Request);
        content.Headers.ContentType = new MediaTypeHeaderValue(ProtocolParameters.BinaryContentType);
        content.Headers.Add(ProtocolParameters.HeaderContentLength, CannedBodies.RequestHeaderLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/mnist/infer") { Content = content };
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(CannedBodies.Response, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(CannedBodies.ResponseHeaderLength.ToString(System.Globalization.CultureInfo.InvariantCulture), GatewayHttp.Header(response, ProtocolParameters.HeaderContentLength));
        var received = Assert.Single(fixture.Inference[0].WithMarker(marker));
        Assert.Equal(CannedBodies.Request, received.Body);
        Assert.Equal(ProtocolParameters.BinaryContentType, received.ContentType);
        Assert.Equal(CannedBodies.RequestHeaderLength.ToString(System.Globalization.CultureInfo.InvariantCulture), received.InferenceHeaderLength);
    }

    [Fact]
    public async Task Preprocess_ManyRequests_SpreadOverBothReplicas()
    {
        var marker = Guid.NewGuid().ToString();
        for (var i = 0; i < 30; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/preprocess/spread");
            request.Headers.Add(StandIn.MarkerHeader, marker);
            using var response = await fixture.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.All(fixture.Preprocessing, replica => Assert.NotEmpty(replica.WithMarker(marker)));
        Assert.Equal(30, fixture.Preprocessing.Sum(replica => replica.WithMarker(marker).Count()));
    }

    [Fact]
    public async Task Proxy_WithoutRequestId_GeneratesOneEchoesAndForwardsIt()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/preprocess/id");
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        var id = GatewayHttp.Header(response, "X-Request-Id");
        Assert.True(Guid.TryParse(id, out _), $"'{id}' is not a GUID");
        Assert.Equal(id, Assert.Single(fixture.Preprocessing.SelectMany(s => s.WithMarker(marker))).RequestId);
    }

    [Theory]
    [InlineData("client-id-42", "client-id-42")]
    [InlineData("has space", null)]
    public async Task Proxy_WithRequestId_KeepsASensibleOneAndReplacesOthers(string sent, string? expected)
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/postprocess/id");
        request.Headers.Add(StandIn.MarkerHeader, marker);
        request.Headers.TryAddWithoutValidation("X-Request-Id", sent);

        using var response = await fixture.Client.SendAsync(request);

        var echoed = GatewayHttp.Header(response, "X-Request-Id");
        var forwarded = Assert.Single(fixture.Postprocessing.SelectMany(s => s.WithMarker(marker))).RequestId;
        Assert.Equal(echoed, forwarded);
        if (expected is null)
        {
            Assert.True(Guid.TryParse(echoed, out _), $"'{echoed}' should have replaced '{sent}'");
        }
        else
        {
            Assert.Equal(expected, echoed);
        }
    }

    [Fact]
    public async Task Proxy_WithTraceparent_ServiceJoinsTheClientsTrace()
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/models/mnist");
        request.Headers.Add(StandIn.MarkerHeader, marker);
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");

        using var response = await fixture.Client.SendAsync(request);

        var received = Assert.Single(fixture.Inference[0].WithMarker(marker));
        Assert.NotNull(received.TraceParent);
        Assert.Equal(traceId, received.TraceParent!.Split('-')[1]);
    }

    [Fact]
    public async Task Proxy_BodyOverLimit_Answers413WithoutForwarding()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/preprocess/v1/preprocess/mnist") { Content = GatewayHttp.Png(StandInsFixture.BodyLimit + 1) };
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Contains(StandInsFixture.BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.GetProperty("detail").GetString());
        Assert.NotNull(GatewayHttp.Header(response, "X-Request-Id"));
        Assert.Empty(fixture.All.SelectMany(s => s.WithMarker(marker)));
    }

    [Fact]
    public async Task Proxy_RouteGroupWithItsOwnLimit_AppliesItAndLeavesOthersAlone()
    {
        var body = StandInsFixture.PostprocessingBodyLimit * 2;

        using var refused = await fixture.Client.PostAsync("/postprocess/v1/postprocess/mnist", GatewayHttp.Png(body));
        using var accepted = await fixture.Client.PostAsync("/preprocess/v1/preprocess/mnist", GatewayHttp.Png(body));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task Proxy_ChunkedBodyOverLimit_Answers413()
    {
        var content = new StreamContent(new MemoryStream(new byte[StandInsFixture.BodyLimit * 2]));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/preprocess/v1/preprocess/mnist") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
    }

    [Fact]
    public async Task Proxy_ServiceHangs_Answers504WithinTheHopTimeout()
    {
        var stopwatch = Stopwatch.StartNew();

        using var response = await fixture.Client.PostAsync("/preprocess/v1/preprocess/hang", GatewayHttp.Png());

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(stopwatch.Elapsed < StandInsFixture.HopTimeout + TimeSpan.FromSeconds(4), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task UnknownPath_Get_Answers404ProblemWithRequestId()
    {
        using var response = await fixture.Client.GetAsync("/nowhere");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
        Assert.NotNull(GatewayHttp.Header(response, "X-Request-Id"));
    }
}
