using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using MlPlatform.TestSupport;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MlPlatform.Dashboard.BrowserTests;

/// <summary>
/// The dashboard in a real browser over a real AppHost: a person's first minute with it. One
/// test, because starting the platform is most of its cost.
/// </summary>
public sealed partial class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>A cold platform on a busy machine has taken half a minute for its first prediction.</summary>
    private const float PredictionTimeout = 60_000;

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
        _appHost = await AppHostProcess.StartAsync(TimeSpan.FromSeconds(120));
        Step("AppHost up");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            // The distribution's Chromium: Playwright's own browser download is neither needed nor possible here.
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        _page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        _page.SetDefaultTimeout(15_000);
        SetDefaultExpectTimeout(15_000);
    }

    [Fact]
    public async Task Dashboard_FromLoginToAPredictionsTrace_ShowsEveryPage()
    {
        try
        {
            await ResourcesListsEveryReplicaRunningAsync();
            Step("Resources checked");
            await ConsoleStreamsReplicaOutputAsync();
            Step("Console checked");
            await TracesPageOpensAsync();
            Step("Traces checked");
            var traceUrl = await TryItPredictsTheUploadedSevenAsync();
            Step("Try it predicted");
            await TraceShowsSpansOfEveryServiceAsync(traceUrl);
            Step("Trace waterfall checked");
            if (SaveScreenshots)
            {
                await ScreenshotRemainingPagesAsync();
                Step("Screenshots saved");
            }
        }
        catch (Exception exception) when (exception is PlaywrightException or TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{exception.Message}{Environment.NewLine}At {_page.Url}. The AppHost wrote:{Environment.NewLine}{Tail(_appHost.Output, 60)}", exception);
        }
    }

    private async Task ResourcesListsEveryReplicaRunningAsync()
    {
        // The login sets the cookie and lands on Resources.
        await _page.GotoAsync(_appHost.LoginUrl.ToString());
        Step("  login page loaded");
        await AssertBlazorScriptServedAsync();
        await WaitUntilInteractiveAsync();
        Step("  interactive");
        await Expect(_page.Locator("h1")).ToHaveTextAsync("Resources");

        var expected = new[] { "gateway-0", "preprocessing-0", "preprocessing-1", "inference-0", "inference-1", "postprocessing-0", "postprocessing-1" };
        foreach (var name in expected)
        {
            await Expect(_page.Locator($"tr.resource-row[data-resource='{name}'] [data-state]")).ToHaveAttributeAsync("data-state", "running");
        }

        Step("  all running");
        await Expect(_page.Locator("tr.resource-row")).ToHaveCountAsync(expected.Length);
        await Expect(_page.Locator("tr.resource-row [data-state]:not([data-state='running'])")).ToHaveCountAsync(0);

        // A replica's environment opens under its row, secrets masked by the AppHost.
        await _page.Locator("tr.resource-row[data-resource='gateway-0'] .env-toggle").ClickAsync();
        await Expect(_page.Locator("tr.resource-environment .env-name", new() { HasTextString = "OTEL_EXPORTER_OTLP_HEADERS" })).ToBeVisibleAsync();
        await Expect(_page.Locator("tr.resource-environment .env-value.secret").First).ToHaveTextAsync("********");
        await ScreenshotAsync("resources");
    }

    private async Task ConsoleStreamsReplicaOutputAsync()
    {
        await _page.GetByRole(AriaRole.Link, new() { Name = "Console", Exact = true }).ClickAsync();
        await Expect(_page.Locator("h1")).ToHaveTextAsync("Console");
        await Expect(_page.Locator(".console-line").First).ToBeVisibleAsync();
    }

    private async Task TracesPageOpensAsync()
    {
        await _page.GetByRole(AriaRole.Link, new() { Name = "Traces", Exact = true }).ClickAsync();
        await Expect(_page.Locator("h1")).ToHaveTextAsync("Traces");
        await Expect(_page.Locator("[href^='/api/export/traces']").First).ToBeAttachedAsync();
    }

    private async Task<string> TryItPredictsTheUploadedSevenAsync()
    {
        await _page.GetByRole(AriaRole.Link, new() { Name = "Try it", Exact = true }).ClickAsync();
        await Expect(_page.Locator("h1")).ToHaveTextAsync("Try it");
        var send = _page.Locator("#tryit-send");

        // A "1" drawn with the mouse: whatever the model makes of it, the gateway answers 200 with predictions.
        var canvas = await _page.Locator("canvas.digit-canvas[data-ready='true']").BoundingBoxAsync() ?? throw new InvalidOperationException("The canvas is not shown.");
        await _page.Mouse.MoveAsync(canvas.X + (canvas.Width * 0.52f), canvas.Y + (canvas.Height * 0.15f));
        await _page.Mouse.DownAsync();
        await _page.Mouse.MoveAsync(canvas.X + (canvas.Width * 0.5f), canvas.Y + (canvas.Height * 0.85f), new() { Steps = 12 });
        await _page.Mouse.UpAsync();
        await send.ClickAsync();
        await Expect(_page.Locator(".prediction")).ToHaveAttributeAsync("data-status", "200", new() { Timeout = PredictionTimeout });
        await Expect(_page.Locator(".prediction-label")).ToHaveCountAsync(1);

        // The bundled example, uploaded: a 7.
        await _page.Locator("#tryit-clear").ClickAsync();
        await _page.Locator("input[type=file]").SetInputFilesAsync(RepositoryPaths.InRoot("models", "mnist", "example-7.png"));
        await Expect(_page.Locator("img.upload-preview")).ToBeVisibleAsync();
        await send.ClickAsync();
        await Expect(_page.Locator(".prediction")).ToHaveAttributeAsync("data-status", "200", new() { Timeout = PredictionTimeout });
        await Expect(_page.Locator(".prediction-label")).ToHaveTextAsync("7");
        await ScreenshotAsync("tryit");

        var traceLink = _page.Locator("a.trace-link");
        var href = await traceLink.GetAttributeAsync("href") ?? "";
        Assert.Matches(TraceHref(), href);
        return href;
    }

    private async Task TraceShowsSpansOfEveryServiceAsync(string traceHref)
    {
        await _page.Locator("a.trace-link").ClickAsync();
        await _page.WaitForURLAsync($"**{traceHref}");
        // Four processes export their spans on their own schedules; the page shows them as they arrive.
        foreach (var service in Services)
        {
            await Expect(_page.Locator($".wf-span[data-service='{service}']").First).ToBeVisibleAsync(new() { Timeout = 20_000 });
        }

        await ScreenshotAsync("trace-waterfall");

        // A span's attributes open under it.
        await _page.Locator(".wf-span[data-service='inference']").First.ClickAsync();
        await Expect(_page.Locator(".wf-details dt", new() { HasTextString = "Span id" })).ToBeVisibleAsync();
    }

    private async Task ScreenshotRemainingPagesAsync()
    {
        await _page.GotoAsync(new Uri(_appHost.DashboardUrl, "traces?text=predict").ToString());
        await WaitUntilInteractiveAsync();
        await Expect(_page.Locator("tr.trace-row").First).ToBeVisibleAsync();
        await ScreenshotAsync("traces");

        await _page.GotoAsync(new Uri(_appHost.DashboardUrl, "structuredlogs").ToString());
        await WaitUntilInteractiveAsync();
        await Expect(_page.Locator("tr.log-row").First).ToBeVisibleAsync();
        await ScreenshotAsync("structured-logs");

        // Console last, so it shows the requests just made rather than the start-up banners.
        await _page.GotoAsync(new Uri(_appHost.DashboardUrl, "console").ToString());
        await WaitUntilInteractiveAsync();
        await Expect(_page.Locator(".console-line").First).ToBeVisibleAsync();
        await ScreenshotAsync("console");

        await _page.GotoAsync(new Uri(_appHost.DashboardUrl, "metrics/inference?minutes=1").ToString());
        await WaitUntilInteractiveAsync();
        await Expect(_page.Locator(".svg-chart polyline").First).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await ScreenshotAsync("metrics");
    }

    private void Step(string name) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:0.0} s  {name}");

    // Without the script the pages still prerender, but never become interactive: say why, not just "timeout".
    private async Task AssertBlazorScriptServedAsync()
    {
        var script = await _page.Context.APIRequest.GetAsync(new Uri(_appHost.DashboardUrl, "_framework/blazor.web.js").ToString());
        Assert.True(
            script.Ok && (await script.BodyAsync()).Length > 0,
            $"The dashboard answers {script.Status} for _framework/blazor.web.js; the AppHost's build must include the framework's web assets (RequiresAspNetWebAssets).");
    }

    // Prerendered pages look ready before their circuit is; clicks only count once it is.
    private Task WaitUntilInteractiveAsync() => Expect(_page.Locator("[data-interactive='true']")).ToBeAttachedAsync();

    private async Task ScreenshotAsync(string name)
    {
        if (!SaveScreenshots)
        {
            return;
        }

        // Let the last render settle (bars, charts) before the picture is taken.
        await _page.WaitForTimeoutAsync(500);
        var directory = RepositoryPaths.InRoot("docs", "images");
        Directory.CreateDirectory(directory);
        await _page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name + ".png") });
    }

    private static string Tail(string text, int lines) =>
        string.Join(Environment.NewLine, text.Split('\n').TakeLast(lines).Select(line => line.TrimEnd('\r')));

    [GeneratedRegex("^/traces/[0-9a-f]{32}$")]
    private static partial Regex TraceHref();

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
