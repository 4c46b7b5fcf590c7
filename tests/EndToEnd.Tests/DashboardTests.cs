using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MlPlatform.TestSupport;

namespace MlPlatform.EndToEnd.Tests;

/// <summary>The dashboard of a running application, through its JSON API as a logged-in browser sees it.</summary>
[Collection(PlatformCollection.Name)]
public sealed class DashboardTests(PlatformFixture fixture) : IDisposable
{
    private static readonly string[] Services = ["gateway", "preprocessing", "inference", "postprocessing"];

    private readonly HttpClient _browser = LoggedOutBrowser(fixture);

    [Fact]
    public async Task Traces_AfterPredict_ShowOneTraceWithSpansOfAllFourServices()
    {
        await LogInAsync();
        var traceId = await PredictAsync();

        var services = await WaitForTraceServicesAsync(traceId);

        Assert.Equal(Services.Order(), services.Order());
        using var list = JsonDocument.Parse(await _browser.GetStringAsync("api/traces?limit=10000"));
        Assert.Contains(list.RootElement.EnumerateArray(), trace => trace.GetProperty("traceId").GetString() == traceId);
    }

    [Fact]
    public async Task Resources_ListEveryReplicaRunning()
    {
        await LogInAsync();

        using var resources = JsonDocument.Parse(await _browser.GetStringAsync("api/resources"));

        var names = resources.RootElement.EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
        Assert.Equal(fixture.App.Run.Processes.Select(p => p.Name), names);
        Assert.All(resources.RootElement.EnumerateArray(), r => Assert.Equal("running", r.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task StructuredLogs_AfterPredict_CarryTheTraceIdFromEveryService()
    {
        await LogInAsync();
        var traceId = await PredictAsync();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HashSet<string> services = [];
        while (DateTime.UtcNow < deadline && !services.IsSupersetOf(Services))
        {
            using var logs = JsonDocument.Parse(await _browser.GetStringAsync($"api/logs?traceId={traceId}&limit=1000"));
            services = logs.RootElement.EnumerateArray().Select(l => l.GetProperty("resource").GetProperty("serviceName").GetString()!).ToHashSet();
            await Task.Delay(250);
        }

        Assert.Superset(Services.ToHashSet(), services);
    }

    [Fact]
    public async Task Api_WithoutLogin_Is401()
    {
        using var response = await _browser.GetAsync("api/traces");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Login_WrongToken_Is401AndGivesNoCookie()
    {
        using var response = await _browser.GetAsync("login?t=not-the-token");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var after = await _browser.GetAsync("api/resources");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    private async Task LogInAsync()
    {
        using var response = await _browser.GetAsync(Dashboard.LoginUrl);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<string> PredictAsync()
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var content = new ByteArrayContent(DigitImages.BlackOnWhite(HoldOutDigits.Load()[2]));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/mnist:predict") { Content = content };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await fixture.Gateway.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return traceId;
    }

    /// <summary>The services that have spans in the trace, once all four have arrived (exports come every second).</summary>
    private async Task<IReadOnlyList<string>> WaitForTraceServicesAsync(string traceId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        IReadOnlyList<string> services = [];
        while (DateTime.UtcNow < deadline)
        {
            using var response = await _browser.GetAsync($"api/traces/{traceId}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                using var trace = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                services = trace.RootElement.GetProperty("spans").EnumerateArray()
                    .Select(span => span.GetProperty("resource").GetProperty("serviceName").GetString()!)
                    .Distinct()
                    .ToList();
                if (services.Count == Services.Length)
                {
                    return services;
                }
            }
            else
            {
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            }

            await Task.Delay(250);
        }

        return services;
    }

    private Dashboard.DashboardServer Dashboard => fixture.App.Dashboard ?? throw new InvalidOperationException("the fixture runs without a dashboard");

    private static HttpClient LoggedOutBrowser(PlatformFixture fixture) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer() })
        {
            BaseAddress = fixture.App.Dashboard!.UiUrl,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public void Dispose() => _browser.Dispose();
}
