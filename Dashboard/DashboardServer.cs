using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlPlatform.Dashboard.Api;
using MlPlatform.Dashboard.Components;
using MlPlatform.Dashboard.Otlp;
using MlPlatform.Dashboard.Resources;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard;

/// <summary>
/// The dashboard inside the AppHost process: an OTLP receiver (gRPC and HTTP/protobuf) filling
/// bounded stores, and the browser UI with its JSON API over those stores and the resources.
/// Two hosts, because the receiver speaks HTTP/2 without TLS on its gRPC port and needs none of
/// the UI's authentication, while the UI must never accept an export.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _receiver;
    private readonly WebApplication _ui;

    private DashboardServer(WebApplication receiver, WebApplication ui, TelemetryStore store, DashboardOptions options, string browserToken, string otlpApiKey)
    {
        _receiver = receiver;
        _ui = ui;
        Telemetry = store;
        Options = options;
        BrowserToken = browserToken;
        OtlpApiKey = otlpApiKey;
    }

    public DashboardOptions Options { get; }

    public ITelemetryQueries Telemetry { get; }

    /// <summary>The token the login link carries; without it (or the cookie it sets) the UI answers 401.</summary>
    public string BrowserToken { get; }

    /// <summary>The value of <c>x-otlp-api-key</c> every export must carry.</summary>
    public string OtlpApiKey { get; }

    public Uri UiUrl { get; private set; } = null!;

    /// <summary>The address to open in a browser: logs in with the token, then shows Resources.</summary>
    public Uri LoginUrl => new(UiUrl, $"login?t={Uri.EscapeDataString(BrowserToken)}");

    public Uri OtlpGrpcEndpoint { get; private set; } = null!;

    public Uri OtlpHttpEndpoint { get; private set; } = null!;

    /// <summary>Starts both hosts; a taken port throws <see cref="IOException"/> naming it.</summary>
    /// <param name="assetsApplicationName">
    /// The project whose build describes the UI's static web assets (<c>&lt;name&gt;.staticwebassets.*.json</c>
    /// beside the running assembly): the host that references the dashboard, whose build also brings in the
    /// framework's <c>blazor.web.js</c>. Named, not taken from the entry assembly, because a test host runs
    /// the dashboard too.
    /// </param>
    public static async Task<DashboardServer> StartAsync(DashboardOptions options, IResourceSource resources, ILoggerProvider? logs, string assetsApplicationName, CancellationToken cancellationToken)
    {
        var browserToken = string.IsNullOrEmpty(options.BrowserToken) ? RandomToken() : options.BrowserToken;
        var otlpApiKey = string.IsNullOrEmpty(options.OtlpApiKey) ? RandomToken() : options.OtlpApiKey;
        var address = IPAddress.Parse(options.BindAddress);
        var store = new TelemetryStore(options.Limits, TimeProvider.System);

        ListenOptions? grpcListen = null, httpListen = null, uiListen = null;
        var receiver = CreateBuilder(logs, options, store, resources, assetsApplicationName);
        receiver.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaxExportBytes;
            kestrel.Listen(address, options.OtlpGrpcPort, listen => (grpcListen = listen).Protocols = HttpProtocols.Http2);
            // Without TLS there is no protocol negotiation, so HTTP/2 could only come by prior knowledge, which OTLP/HTTP
            // exporters do not use; Kestrel would warn at every start that it serves HTTP/1.1 only.
            kestrel.Listen(address, options.OtlpHttpPort, listen => (httpListen = listen).Protocols = HttpProtocols.Http1);
        });
        receiver.Services.AddOtlpReceiver(otlpApiKey);
        var receiverApp = receiver.Build();
        receiverApp.MapOtlpReceiver();

        var ui = CreateBuilder(logs, options, store, resources, assetsApplicationName);
        ui.WebHost.UseStaticWebAssets();
        ui.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, options.UiPort, listen => uiListen = listen));
        ui.Services.AddDashboardUi(browserToken);
        var uiApp = ui.Build();
        uiApp.MapDashboardUi();
        uiApp.MapDashboardApi();

        var server = new DashboardServer(receiverApp, uiApp, store, options, browserToken, otlpApiKey);
        try
        {
            await receiverApp.StartAsync(cancellationToken).ConfigureAwait(false);
            await uiApp.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // Kestrel writes the bound port back into each ListenOptions, so port 0 becomes the real one.
        var host = address.Equals(IPAddress.Loopback) ? "localhost" : address.ToString();
        server.OtlpGrpcEndpoint = new Uri($"http://{host}:{grpcListen!.IPEndPoint!.Port}");
        server.OtlpHttpEndpoint = new Uri($"http://{host}:{httpListen!.IPEndPoint!.Port}");
        server.UiUrl = new Uri($"http://{host}:{uiListen!.IPEndPoint!.Port}/");
        return server;
    }

    private static WebApplicationBuilder CreateBuilder(ILoggerProvider? logs, DashboardOptions options, TelemetryStore store, IResourceSource resources, string applicationName)
    {
        // The AppHost's own command line and appsettings are not the dashboard's: start from nothing.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = "Production", ApplicationName = applicationName });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<ITelemetryQueries>(store);
        builder.Services.AddSingleton(resources);
        return builder;
    }

    private static string RandomToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public async ValueTask DisposeAsync()
    {
        await StopQuietlyAsync(_ui).ConfigureAwait(false);
        await StopQuietlyAsync(_receiver).ConfigureAwait(false);
    }

    private static async Task StopQuietlyAsync(WebApplication app)
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await app.StopAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }
}
