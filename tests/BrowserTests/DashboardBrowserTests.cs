using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using MlPlatform.TestSupport;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MlPlatform.BrowserTests;

/// <summary>
/// The Aspire dashboard of a real AppHost, started as a person starts it, in a real browser: a person's first
/// minute with it. One test, because starting the platform is most of its cost.
/// </summary>
public sealed partial class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>A cold platform on a busy machine has taken half a minute for its first prediction.</summary>
    private const float PredictionTimeout = 60_000;

    /// <summary>Health checks run every few seconds and replicas start one service after another.</summary>
    private const float AllHealthyTimeout = 120_000;

    private static readonly string[] Services = ["gateway", "preprocessing", "inference", "postprocessing"];

    /// <summary>Set to 1 to refresh the pictures in docs/images/; normal runs leave the committed files alone.</summary>
    private static readonly bool SaveScreenshots = Environment.GetEnvironmentVariable("MLPLATFORM_SCREENSHOTS") == "1";

    // Steps and their times go to the test's output, so a slow run shows where the time went.
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private AppHostProcess _appHost = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        // The browser first: without one the test cannot run, and nothing is started that would outlive it, since
        // xUnit does not dispose a test whose initialisation failed.
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            // The distribution's Chromium: Playwright's own browser download is neither needed nor possible here.
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        _page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 860 } });
        _page.SetDefaultTimeout(20_000);
        SetDefaultExpectTimeout(20_000);
        Step("browser started");
        try
        {
            _appHost = await AppHostProcess.StartAsync(TimeSpan.FromSeconds(180));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }

        Step("AppHost started");
    }

    [Fact]
    public async Task Dashboard_FromLoginToAPredictionsTrace_ShowsEveryReplicaAndTheTraceAcrossAllFourServices()
    {
        try
        {
            var tryItUrl = await LoginShowsEveryReplicaRunningAndHealthyAsync();
            Step("Resources checked");
            var traceId = await TryItPredictsADrawnDigitAndTheUploadedSevenAsync(tryItUrl);
            Step("Try it predicted");
            await TraceShowsSpansOfEveryServiceAsync(traceId);
            Step("Trace checked");
            await ConsoleAndStructuredLogsShowTheServicesAsync(traceId);
            Step("Logs checked");
            if (SaveScreenshots)
            {
                // The picture only: which instruments a replica has published by now is its own business.
                await _page.GotoAsync(new Uri(_appHost.DashboardUrl, "metrics").ToString());
                await _page.WaitForTimeoutAsync(3000);
                await ScreenshotAsync("metrics");
            }
        }
        catch (Exception exception) when (exception is PlaywrightException or TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{exception.Message}{Environment.NewLine}At {_page.Url}. The AppHost wrote:{Environment.NewLine}{Tail(_appHost.Output, 60)}", exception);
        }
    }

    /// <summary>The printed login URL logs in and lands on Resources, where every replica ends up Running and healthy.</summary>
    private async Task<string> LoginShowsEveryReplicaRunningAndHealthyAsync()
    {
        await _page.GotoAsync(_appHost.LoginUrl.ToString());
        await Expect(_page).ToHaveTitleAsync(new Regex("resources", RegexOptions.IgnoreCase));
        var rows = _page.Locator("tr.resource-row");
        // One gateway and two replicas of each other service, each its own row named after its resource.
        await Expect(rows).ToHaveCountAsync(7, new() { Timeout = AllHealthyTimeout });
        await Expect(_page.Locator("tr.resource-row[aria-rowindex]", new() { HasTextRegex = new Regex("Unhealthy|Starting|Waiting|Not started|Finished|Exited") }))
            .ToHaveCountAsync(0, new() { Timeout = AllHealthyTimeout });
        await Expect(_page.Locator("tr.resource-row", new() { HasTextString = "Running" })).ToHaveCountAsync(7);
        foreach (var service in Services)
        {
            var expected = service == "gateway" ? 1 : 2;
            await Expect(_page.Locator($"tr.resource-row td[title^='Project: {service}']")).ToHaveCountAsync(expected);
        }

        await ScreenshotAsync("resources");
        var tryIt = _page.Locator("tr.resource-row", new() { HasTextString = "gateway" }).GetByRole(AriaRole.Link, new() { Name = "Try it" });
        return await tryIt.GetAttributeAsync("href") ?? throw new InvalidOperationException("The gateway's Try it link has no address.");
    }

    private async Task<string> TryItPredictsADrawnDigitAndTheUploadedSevenAsync(string tryItUrl)
    {
        var tryIt = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 860 } });
        await tryIt.GotoAsync(tryItUrl);

        // A "7" drawn with the mouse: a bar across the top, then a stroke down to the lower left.
        var canvas = await tryIt.Locator("#digit-canvas").BoundingBoxAsync() ?? throw new InvalidOperationException("The canvas is not shown.");
        await tryIt.Mouse.MoveAsync(canvas.X + (canvas.Width * 0.25f), canvas.Y + (canvas.Height * 0.2f));
        await tryIt.Mouse.DownAsync();
        await tryIt.Mouse.MoveAsync(canvas.X + (canvas.Width * 0.75f), canvas.Y + (canvas.Height * 0.2f), new() { Steps = 10 });
        await tryIt.Mouse.MoveAsync(canvas.X + (canvas.Width * 0.42f), canvas.Y + (canvas.Height * 0.85f), new() { Steps = 14 });
        await tryIt.Mouse.UpAsync();
        await tryIt.Locator("#predict").ClickAsync();
        await Expect(tryIt.Locator("#result-label")).ToHaveTextAsync(new Regex("^[0-9]$"), new() { Timeout = PredictionTimeout });
        Step($"  drawn digit predicted as {await tryIt.Locator("#result-label").TextContentAsync()}");
        await Expect(tryIt.Locator("#top-k li")).ToHaveCountAsync(3);

        // The bundled example, uploaded: a 7.
        await tryIt.Locator("#clear").ClickAsync();
        await tryIt.Locator("#upload").SetInputFilesAsync(RepositoryPaths.InRoot("models", "mnist", "example-7.png"));
        await tryIt.Locator("#predict").ClickAsync();
        await Expect(tryIt.Locator("#result-label")).ToHaveTextAsync("7", new() { Timeout = PredictionTimeout });
        await Expect(tryIt.Locator("#error")).ToBeHiddenAsync();
        var traceId = (await tryIt.Locator("#trace-id").TextContentAsync())?.Trim() ?? "";
        Assert.Matches(TraceId(), traceId);
        var traceLink = await tryIt.Locator("#trace-link").GetAttributeAsync("href") ?? "";
        Assert.Equal(new Uri(_appHost.DashboardUrl, $"traces/detail/{traceId}"), new Uri(traceLink));
        await ScreenshotAsync("tryit", tryIt);
        await tryIt.CloseAsync();
        return traceId;
    }

    /// <summary>The prediction's trace, as the try page links it, holds spans from all four services.</summary>
    private async Task TraceShowsSpansOfEveryServiceAsync(string traceId)
    {
        var traceUrl = new Uri(_appHost.DashboardUrl, $"traces/detail/{traceId}").ToString();
        // Four processes export their spans on their own schedules (every second); reload until all have arrived.
        var deadline = Stopwatch.StartNew();
        string[] missing;
        do
        {
            await _page.GotoAsync(traceUrl);
            await _page.WaitForTimeoutAsync(1000);
            var text = await _page.Locator("body").InnerTextAsync();
            missing = Services.Where(service => !text.Contains(service, StringComparison.Ordinal)).ToArray();
        }
        while (missing.Length > 0 && deadline.Elapsed < TimeSpan.FromSeconds(30));

        Assert.True(missing.Length == 0, $"trace {traceId} has no spans from {string.Join(", ", missing)}");
        await Expect(_page.GetByText("POST", new() { Exact = false }).First).ToBeVisibleAsync();
        await ScreenshotAsync("trace");
    }

    private async Task ConsoleAndStructuredLogsShowTheServicesAsync(string traceId)
    {
        await _page.GotoAsync(new Uri(_appHost.DashboardUrl, "structuredlogs").ToString());
        await Expect(_page.Locator("tr.fluent-data-grid-row", new() { HasTextString = "inference" }).First).ToBeVisibleAsync();
        await ScreenshotAsync("structured-logs");

        await _page.GotoAsync(new Uri(_appHost.DashboardUrl, "consolelogs").ToString());
        await Expect(_page.Locator("body")).ToContainTextAsync("Console logs");
        await ScreenshotAsync("console");
        Step($"  logs of trace {traceId} pages open");
    }

    private void Step(string name) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:0.0} s  {name}");

    private async Task ScreenshotAsync(string name, IPage? page = null)
    {
        if (!SaveScreenshots)
        {
            return;
        }

        page ??= _page;
        // Let the last render settle (grids, charts) before the picture is taken.
        await page.WaitForTimeoutAsync(1000);
        var directory = RepositoryPaths.InRoot("docs", "images");
        Directory.CreateDirectory(directory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name + ".png") });
    }

    private static string Tail(string text, int lines) =>
        string.Join(Environment.NewLine, text.Split('\n').TakeLast(lines).Select(line => line.TrimEnd('\r')));

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex TraceId();

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_appHost is not null)
        {
            await _appHost.DisposeAsync();
        }
    }
}
