using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>
/// One address per service, as Aspire's proxy and a Kubernetes Service give it, played by one stand-in whose
/// inference models fail on purpose: <c>cut-once</c> and <c>busy-once</c> fail the first request of each
/// request id (predict) or marker (proxied), <c>cut-always</c> and <c>busy-always</c> every one. "Cut" drops
/// the connection without an answer, as a replica killed behind the proxy does; "busy" answers 503.
/// </summary>
public sealed class OneAddressFixture : IAsyncLifetime
{
    public const int MaxAttempts = 4;
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly ConcurrentDictionary<string, ConcurrentQueue<long>> _arrivals = new();

    public StandIn Upstream { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public HttpClient Client => Gateway.Client;

    public async Task InitializeAsync()
    {
        Upstream = await StandIn.StartAsync("upstream-0", (app, self) =>
        {
            app.Use(async (context, next) =>
            {
                if (await FailAsync(context))
                {
                    return;
                }

                await next(context);
            });
            StandIn.MapServices(app, self);
        });
        Gateway = await GatewayProcess.StartAsync(
            GatewayProcess.AllServices(Upstream),
            new Dictionary<string, string?>
            {
                ["Gateway__MaxAttempts"] = MaxAttempts.ToString(CultureInfo.InvariantCulture),
                ["Gateway__RetryDelay"] = RetryDelay.ToString(),
                ["Gateway__HopTimeout"] = "00:00:10",
                // Probes far apart, so only retries (not active health) decide what the requests below get.
                ["Gateway__HealthCheckInterval"] = "00:01:00",
                ["Gateway__HealthCheckTimeout"] = "00:00:05",
            });
    }

    /// <summary>The time between one request carrying <paramref name="key"/> (a request id or marker) reaching the upstream's <c>/v2</c> routes and the next.</summary>
    public IReadOnlyList<TimeSpan> GapsBetweenArrivals(string key)
    {
        var arrivals = _arrivals.TryGetValue(key, out var queue) ? queue.ToArray() : [];
        return [.. arrivals.Zip(arrivals.Skip(1), (earlier, later) => Stopwatch.GetElapsedTime(earlier, later))];
    }

    /// <summary>How many requests carrying <paramref name="key"/> reached the upstream's <c>/v2</c> routes.</summary>
    public int Arrivals(string key) => _arrivals.TryGetValue(key, out var queue) ? queue.Count : 0;

    private async Task<bool> FailAsync(HttpContext context)
    {
        const string prefix = "/v2/models/";
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var key = context.Request.Headers[StandIn.MarkerHeader].ToString() is { Length: > 0 } marker ? marker : context.Request.Headers["X-Request-Id"].ToString();
        var arrivals = _arrivals.GetOrAdd(key, _ => new ConcurrentQueue<long>());
        arrivals.Enqueue(Stopwatch.GetTimestamp());
        var first = arrivals.Count == 1;

        switch (path[prefix.Length..].Split('/')[0])
        {
            case "cut-once" when first:
            case "cut-always":
                context.Abort();
                return true;
            case "busy-once" when first:
            case "busy-always":
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "1";
                await context.Response.WriteAsJsonAsync(new { error = "the queue is full" });
                return true;
            default:
                return false;
        }
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

/// <summary>Retries when every replica of a service is behind one address: the address is tried again, never given up on after one failure.</summary>
public sealed class OneServiceAddressTests(OneAddressFixture fixture) : IClassFixture<OneAddressFixture>
{
    [Fact]
    public async Task Predict_OneAddressCutsTheFirstAttempt_SucceedsByRetryingThatAddress()
    {
        var before = await RetriesAsync("inference");
        var id = Guid.NewGuid().ToString();

        using var response = await SendPredictAsync("cut-once", id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, fixture.Upstream.WithRequestId(id).Count(r => r.Path == "/v2/models/cut-once/infer"));
        Assert.Equal(1, await RetriesAsync("inference") - before);
        Assert.All(fixture.GapsBetweenArrivals(id), gap => Assert.True(gap >= OneAddressFixture.RetryDelay - TimeSpan.FromMilliseconds(20), $"retried after {gap}"));
    }

    [Fact]
    public async Task Predict_OneAddressAnswers503Once_SucceedsByRetryingThatAddressAfterTheDelay()
    {
        var id = Guid.NewGuid().ToString();

        using var response = await SendPredictAsync("busy-once", id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, fixture.Arrivals(id));
        var gap = Assert.Single(fixture.GapsBetweenArrivals(id));
        Assert.True(gap >= OneAddressFixture.RetryDelay - TimeSpan.FromMilliseconds(20), $"retried after {gap}");
    }

    [Fact]
    public async Task Predict_OneAddressAlwaysCutsShort_Answers502AfterMaxAttempts()
    {
        var id = Guid.NewGuid().ToString();
        var stopwatch = Stopwatch.StartNew();

        using var response = await SendPredictAsync("cut-always", id);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal("inference is unreachable", problem.GetProperty("title").GetString());
        Assert.Equal("inference", problem.GetProperty("hop").GetString());
        Assert.Equal(OneAddressFixture.MaxAttempts, fixture.Arrivals(id));
    }

    [Fact]
    public async Task Predict_OneAddressAlways503_Answers503WithRetryAfterAfterMaxAttempts()
    {
        var id = Guid.NewGuid().ToString();

        using var response = await SendPredictAsync("busy-always", id);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", GatewayHttp.Header(response, "Retry-After"));
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal("inference is overloaded", problem.GetProperty("title").GetString());
        Assert.Equal(OneAddressFixture.MaxAttempts, fixture.Arrivals(id));
        Assert.All(fixture.GapsBetweenArrivals(id), gap => Assert.True(gap >= OneAddressFixture.RetryDelay - TimeSpan.FromMilliseconds(20), $"retried after {gap}"));
    }

    [Fact]
    public async Task Proxy_OneAddressCutsTheFirstGet_SucceedsByRetryingThatAddress()
    {
        var marker = Guid.NewGuid().ToString();

        using var response = await SendProxiedAsync(HttpMethod.Get, "/v2/models/cut-once", marker);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, fixture.Arrivals(marker));
    }

    [Fact]
    public async Task Proxy_OneAddressAlwaysCutsGets_Answers502ProblemAfterMaxAttempts()
    {
        var marker = Guid.NewGuid().ToString();
        var stopwatch = Stopwatch.StartNew();

        using var response = await SendProxiedAsync(HttpMethod.Get, "/v2/models/cut-always", marker);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal(OneAddressFixture.MaxAttempts, fixture.Arrivals(marker));
    }

    [Fact]
    public async Task Proxy_OneAddressCutsAPostAfterReadingIt_IsNotRetried()
    {
        var marker = Guid.NewGuid().ToString();

        using var response = await SendProxiedAsync(HttpMethod.Post, "/v2/models/cut-once/infer", marker, GatewayHttp.Json("{}"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(1, fixture.Arrivals(marker));
    }

    [Fact]
    public async Task OneAddress_AfterManyFailedRequests_StillGetsEveryLaterRequest()
    {
        // More failures in a row than passive health needs to mark the address unhealthy; with no other
        // address, HealthyOrPanic must keep sending it requests.
        for (var i = 0; i < 12; i++)
        {
            using var failed = await SendProxiedAsync(HttpMethod.Get, "/v2/models/cut-always", Guid.NewGuid().ToString());
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
            using var failedPredict = await SendPredictAsync("cut-always", Guid.NewGuid().ToString());
            Assert.Equal(HttpStatusCode.BadGateway, failedPredict.StatusCode);
        }

        for (var i = 0; i < 5; i++)
        {
            using var get = await SendProxiedAsync(HttpMethod.Get, "/v2/models/mnist", Guid.NewGuid().ToString());
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            using var predict = await SendPredictAsync("mnist", Guid.NewGuid().ToString());
            Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        }

        Assert.DoesNotContain("out of rotation", fixture.Gateway.Output, StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> SendPredictAsync(string model, string requestId)
    {
        using var request = GatewayHttp.Predict(model);
        request.Headers.Add("X-Request-Id", requestId);
        return await fixture.Client.SendAsync(request);
    }

    private async Task<HttpResponseMessage> SendProxiedAsync(HttpMethod method, string path, string marker, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add(StandIn.MarkerHeader, marker);
        return await fixture.Client.SendAsync(request);
    }

    private Task<double> RetriesAsync(string service) =>
        GatewayHttp.ReadMetricAsync(fixture.Gateway, "mlplatform_gateway_retries_total", $"service=\"{service}\"");
}

/// <summary>A service whose one address refuses every connection: each request is tried that many times, then answered, never left hanging.</summary>
public sealed class OneClosedAddressTests : IAsyncLifetime
{
    private ServiceProcess _gateway = null!;

    public async Task InitializeAsync()
    {
        Uri[] dead = [GatewayProcess.ClosedAddress()];
        _gateway = await GatewayProcess.StartAsync(
            new Dictionary<string, Uri[]> { ["preprocessing"] = dead, ["inference"] = dead, ["postprocessing"] = dead },
            new Dictionary<string, string?> { ["Gateway__RetryDelay"] = "00:00:00.050" });
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Predict_TheOnlyAddressRefuses_Answers502AfterEveryAttempt()
    {
        var before = await RetriesAsync("route=\"predict\"");
        var stopwatch = Stopwatch.StartNew();

        using var response = await _gateway.Client.SendAsync(GatewayHttp.Predict("mnist"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal("preprocessing is unreachable", problem.GetProperty("title").GetString());
        // MaxAttempts is 3 by default: two retries of the one address.
        Assert.Equal(2, await RetriesAsync("route=\"predict\"") - before);
    }

    [Fact]
    public async Task Proxy_PostToTheOnlyAddressRefused_RetriedThenAnswers502Problem()
    {
        var before = await RetriesAsync("reason=\"connect\"");

        using var response = await _gateway.Client.PostAsync("/postprocess/v1/postprocess/mnist", GatewayHttp.Png());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal(2, await RetriesAsync("reason=\"connect\"") - before);
    }

    private Task<double> RetriesAsync(string labelFragment) =>
        GatewayHttp.ReadMetricAsync(_gateway, "mlplatform_gateway_retries_total", labelFragment);
}
