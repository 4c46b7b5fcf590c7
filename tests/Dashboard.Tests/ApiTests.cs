using System.Net;
using System.Text.Json;
using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Metrics.V1;
using static MlPlatform.Dashboard.Tests.Otlp;

namespace MlPlatform.Dashboard.Tests;

/// <summary>The JSON API on the UI host, logged in with the browser token's cookie.</summary>
[Collection(DashboardCollection.Name)]
public sealed class ApiTests : IAsyncLifetime, IDisposable
{
    // xunit creates the class once per test, and every test seeds: each gets its own service.
    private string Service { get; } = $"api-{Guid.NewGuid():N}"[..12];

    private readonly DashboardFixture _fixture;
    private readonly HttpClientHandler _handler = new() { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
    private readonly HttpClient _browser;
    private readonly int _trace = Random.Shared.Next(1, int.MaxValue);

    public ApiTests(DashboardFixture fixture)
    {
        _fixture = fixture;
        _browser = new HttpClient(_handler) { BaseAddress = fixture.Server.UiUrl };
    }

    private string Instance => $"{Service}-1";

    private string TraceId => TraceHex(_trace);

    public async Task InitializeAsync()
    {
        using var login = await _browser.GetAsync(new Uri($"login?t={Uri.EscapeDataString(_fixture.Server.BrowserToken)}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);

        var now = DateTimeOffset.UtcNow;
        var store = _fixture.Store;
        store.AddTraces(Traces(Service, Instance, Span(_trace, 1, 0, "GET /slow", 0, 2), Span(_trace, 2, 1, "db", 0.5, 1.5)));
        store.AddTraces(Traces(Service, Instance, Span(_trace + 1, 1, 0, "GET /fast", 3, 3.01)));
        var error = Log("it broke", 17, 1);
        error.TraceId = TraceId(_trace);
        store.AddLogs(Logs(Service, Instance, "Api.Tests", Log("all good", 9, 0), error));
        var points = new[] { now.AddSeconds(-20), now.AddSeconds(-10), now }
            .Select((time, i) => new NumberDataPoint { StartTimeUnixNano = Nanos(now.AddMinutes(-5)), TimeUnixNano = Nanos(time), AsDouble = i * 100 })
            .ToArray();
        store.AddMetrics(Metrics(Service, Instance, "Api.Meter", Sum("api.requests", true, AggregationTemporality.Cumulative, points)));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _browser.Dispose();
        _handler.Dispose();
    }

    /// <summary>GETs <paramref name="path"/>, where "{svc}" stands for this test's service.</summary>
    private async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        path = path.Replace("{svc}", Service, StringComparison.Ordinal);
        using var response = await _browser.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Resources_ListBothTheApplicationsAndTheTelemetrysResources()
    {
        var resources = await GetJsonAsync("api/resources");
        var telemetry = await GetJsonAsync("api/telemetry/resources");

        var replica = Assert.Single(resources.EnumerateArray());
        Assert.Equal("inference-1", replica.GetProperty("name").GetString());
        Assert.Equal("inference-abcdefgh", replica.GetProperty("instanceId").GetString());
        Assert.True(replica.GetProperty("environment")[0].GetProperty("isSecret").GetBoolean());
        Assert.Contains(telemetry.EnumerateArray(), r => r.GetProperty("serviceName").GetString() == Service && r.GetProperty("instanceId").GetString() == Instance);
    }

    [Fact]
    public async Task Logs_FilterByResourceLevelAndTrace_WithLevelsAsNames()
    {
        var all = await GetJsonAsync($"api/logs?resource={Instance}");
        var errors = await GetJsonAsync($"api/logs?resource={Service}&level=error");
        var byTrace = await GetJsonAsync($"api/logs?traceId={TraceId.ToUpperInvariant()}&limit=5");
        var byApplicationName = await GetJsonAsync("api/logs?resource=inference-1");

        Assert.Equal(["it broke", "all good"], all.EnumerateArray().Select(l => l.GetProperty("message").GetString()));
        var error = Assert.Single(errors.EnumerateArray());
        Assert.Equal("Error", error.GetProperty("level").GetString());
        Assert.Equal(17, error.GetProperty("severityNumber").GetInt32());
        Assert.Equal(Service, error.GetProperty("resource").GetProperty("serviceName").GetString());
        Assert.Equal("it broke", Assert.Single(byTrace.EnumerateArray()).GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Array, byApplicationName.ValueKind);
    }

    [Theory]
    [InlineData("api/logs?level=loud", "level")]
    [InlineData("api/logs?level=3", "level")]
    [InlineData("api/logs?limit=0", "limit")]
    [InlineData("api/logs?limit=10001", "limit")]
    [InlineData("api/logs?limit=ten", "limit")]
    [InlineData("api/logs?traceId=xyz", "traceId")]
    [InlineData("api/traces?minDurationMs=-1", "minDurationMs")]
    [InlineData("api/traces?minDurationMs=NaN", "minDurationMs")]
    [InlineData("api/traces?limit=99999999999999", "limit")]
    [InlineData("api/traces/not-a-trace", "traceId")]
    [InlineData("api/metrics/chart?resource={svc}&instrument=api.requests", "meter")]
    [InlineData("api/metrics/chart?resource={svc}&meter=Api.Meter", "instrument")]
    [InlineData("api/metrics/chart?meter=Api.Meter&instrument=api.requests", "resource")]
    [InlineData("api/metrics/chart?resource={svc}&meter=Api.Meter&instrument=api.requests&windowSeconds=0", "windowSeconds")]
    [InlineData("api/export/logs?level=nope", "level")]
    public async Task BadParameter_Is400ProblemNamingIt(string path, string parameter)
    {
        var problem = await GetJsonAsync(path, HttpStatusCode.BadRequest);

        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal(parameter, problem.GetProperty("parameter").GetString());
        Assert.Contains(parameter, problem.GetProperty("title").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api/logs?resource=no-such-thing", "no-such-thing")]
    [InlineData("api/traces?resource=no-such-thing", "no-such-thing")]
    [InlineData("api/metrics/instruments?resource=no-such-thing", "no-such-thing")]
    [InlineData("api/metrics/chart?resource=no-such-thing&meter=m&instrument=i", "no-such-thing")]
    [InlineData("api/metrics/chart?resource={svc}&meter=Api.Meter&instrument=no.such.instrument", "no.such.instrument")]
    [InlineData("api/traces/ffffffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffffffff")]
    [InlineData("api/export/traces?resource=%3Cscript%3E", "<script>")]
    public async Task Unknown_Is404ProblemNamingIt(string path, string name)
    {
        var problem = await GetJsonAsync(path, HttpStatusCode.NotFound);

        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Contains(name, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Traces_ListFilterAndOpen()
    {
        var slow = await GetJsonAsync($"api/traces?resource={Service}&minDurationMs=500");
        var text = await GetJsonAsync($"api/traces?resource={Service}&text=fast&limit=10");
        var trace = await GetJsonAsync($"api/traces/{TraceId.ToUpperInvariant()}");

        var summary = Assert.Single(slow.EnumerateArray());
        Assert.Equal(TraceId, summary.GetProperty("traceId").GetString());
        Assert.Equal("GET /slow", summary.GetProperty("name").GetString());
        Assert.Equal(2, summary.GetProperty("spanCount").GetInt32());
        Assert.Equal("GET /fast", Assert.Single(text.EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal(["GET /slow", "db"], trace.GetProperty("spans").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal("Server", trace.GetProperty("spans")[0].GetProperty("kind").GetString());
        Assert.Equal("Unset", trace.GetProperty("spans")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_InstrumentsAndChart()
    {
        var instruments = await GetJsonAsync($"api/metrics/instruments?resource={Service}");
        var chart = await GetJsonAsync($"api/metrics/chart?resource={Instance}&meter=Api.Meter&instrument=api.requests&windowSeconds=60");

        var instrument = Assert.Single(instruments.EnumerateArray());
        Assert.Equal("Counter", instrument.GetProperty("kind").GetString());
        Assert.Equal("Counter", chart.GetProperty("instrument").GetProperty("kind").GetString());
        var line = Assert.Single(chart.GetProperty("lines").EnumerateArray());
        Assert.Equal($"{Instance} rate/s", line.GetProperty("label").GetString());
        Assert.Equal([10.0, 10.0], line.GetProperty("samples").EnumerateArray().Select(s => Math.Round(s.GetProperty("value").GetDouble(), 6)));
    }

    [Fact]
    public async Task Counts_AreServed()
    {
        var counts = await GetJsonAsync("api/counts");

        Assert.True(counts.GetProperty("spans").GetInt32() >= 3);
        Assert.True(counts.GetProperty("logs").GetInt32() >= 2);
        Assert.True(counts.TryGetProperty("rejectedExports", out _));
    }

    [Theory]
    [InlineData("traces")]
    [InlineData("logs")]
    public async Task Export_IsAJsonAttachmentWithAUtcStamp(string what)
    {
        using var response = await _browser.GetAsync(new Uri($"api/export/{what}?resource={Service}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var disposition = response.Content.Headers.ContentDisposition;
        Assert.Equal("attachment", disposition?.DispositionType);
        Assert.Matches($"^{what}-\\d{{8}}T\\d{{6}}Z\\.json$", disposition?.FileName);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, body.GetArrayLength());
        if (what == "traces")
        {
            Assert.Contains(body.EnumerateArray(), t => t.GetProperty("spans").GetArrayLength() == 2 && t.GetProperty("summary").GetProperty("traceId").GetString() == TraceId);
        }
    }

    [Theory]
    [InlineData("api/counts")]
    [InlineData("api/logs")]
    [InlineData("api/resources")]
    [InlineData("api/export/traces")]
    public async Task WithoutTheCookie_Is401(string path)
    {
        using var anonymous = new HttpClient { BaseAddress = _fixture.Server.UiUrl };

        using var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
