using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

// Same namespace as the .NET Aspire ServiceDefaults template, so Program.cs needs no using
// and a real Aspire AppHost can compose these services unchanged.
namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The conventions every MlPlatform service keeps: OpenTelemetry, health checks, service discovery
/// and resilient HttpClients, configured the way a .NET Aspire ServiceDefaults project does.
/// </summary>
public static class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string MetricsEndpointPath = "/metrics";

    /// <summary>The tag that marks a health check as part of liveness (<c>/alive</c>).</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Attribute sets kept per metric stream of the runtime's and ASP.NET Core's instruments. The SDK's default
    /// of 2,000 is allocated up front: 144 KB for each of some 45 instruments, once per reader (Prometheus and
    /// OTLP), which made 13.5 MB of an idle inference replica's 127 MB. Their attributes (method, route, status,
    /// peer, GC generation) stay within a few dozen sets in these services; a set past the limit is still
    /// counted, under <c>otel.metric.overflow=true</c>. Our own meters keep the default, since their
    /// attributes include model names and versions, which a repository can hold many of.
    /// </summary>
    public const int FrameworkMetricCardinalityLimit = 500;

    /// <summary>
    /// Attribute sets kept per metric stream of the meters whose attributes are a small fixed set (GC generation,
    /// CPU mode, transport, protocol): the runtime's, Kestrel's and the memory pool's, some 30 instruments. At the
    /// framework limit their streams still took 36 KB each per reader, 2 MB of an idle replica, for a handful of
    /// sets each.
    /// </summary>
    public const int FixedAttributeMetricCardinalityLimit = 50;

    /// <summary>The meters <see cref="FixedAttributeMetricCardinalityLimit"/> applies to.</summary>
    public static IReadOnlyList<string> FixedAttributeMeters { get; } =
        ["System.Runtime", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.MemoryPool"];

    /// <summary>
    /// Log levels of the categories that write a line or more for every call one service makes to another: the
    /// HttpClient factory's four per request ("Start processing HTTP request", "Sending HTTP request", ...) and
    /// Polly's "Execution attempt". They buried everything else in a development console; at Warning, retries
    /// and failures still show. Given as configuration of the lowest precedence, under appsettings.json, rather
    /// than with <c>AddFilter</c>: a filter added in code outranks a configuration rule for the same category,
    /// so <c>Logging:LogLevel:System.Net.Http.HttpClient=Information</c> could not turn them back on.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> QuietLogCategories { get; } = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
        ["Logging:LogLevel:Polly"] = "Warning",
    };

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // What the full host builder sets up for logs and the slim one leaves out: the trace context on every
        // entry's scope, which ties console lines to traces, and the EventSource provider that dotnet-trace and
        // dotnet-monitor read logs from. TryAdd inside: no second provider where the builder added one.
        builder.Logging.Configure(options => options.ActivityTrackingOptions =
            ActivityTrackingOptions.SpanId | ActivityTrackingOptions.TraceId | ActivityTrackingOptions.ParentId);
        builder.Logging.AddEventSourceLogger();
        // The simple formatter by name, as the slim builder picks it: without a name the full builder's console
        // logger lets its obsolete options (Logging:Console:IncludeScopes) override the formatter's, so one
        // setting, Logging:Console:FormatterOptions, would not mean the same in every service.
        builder.Logging.AddSimpleConsole();
        // First, so every other source (appsettings.json, environment, command line) overrides it.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = QuietLogCategories });

        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // Traces and logs only leave the process through an exporter. Without one the SDK would still sample
        // (the AppHost sets always_on), record and enrich a span for every request and client call, and keep a
        // log pipeline, only to drop them: measurable work on every hop of a predict. Trace context still flows
        // without it: ASP.NET Core starts an Activity from traceparent for its log scopes, and HttpClient sends
        // the current one on.
        var exportsTelemetry = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (exportsTelemetry)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
        }

        // Metrics stay on in any case: Prometheus scrapes them from /metrics.
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("MlPlatform.*")
                .SetExemplarFilter(exportsTelemetry ? ExemplarFilterType.TraceBased : ExemplarFilterType.AlwaysOff)
                .AddView(instrument => MetricStreamFor(instrument.Meter.Name))
                // Scrapers poll every few seconds; a cached scrape would only show stale figures.
                .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0));

        if (exportsTelemetry)
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource(builder.Environment.ApplicationName)
                    .AddSource("MlPlatform.*")
                    .AddAspNetCoreInstrumentation(options =>
                        // Probes and scrapes run every few seconds and would drown the real traces.
                        options.Filter = context => !IsInfrastructurePath(context.Request.Path))
                    .AddHttpClientInstrumentation(options =>
                        // The gateway probes every replica's /health every few seconds: as root spans of their
                        // own those calls would bury the predict traces in the dashboard.
                        options.FilterHttpRequestMessage = request =>
                            request.RequestUri is not { IsAbsoluteUri: true } uri || !IsInfrastructurePath(new PathString(uri.AbsolutePath))))
                .UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);

        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c>, <c>/alive</c> and <c>/metrics</c>. Unlike the Aspire template these are
    /// mapped in every environment: Kubernetes probes and Prometheus need them in production.
    /// The gateway never routes them to a service, so a service's are not reachable from outside the cluster; the
    /// gateway maps its own in a route group of its management port (<paramref name="endpoints"/> may be a group).
    /// </summary>
    public static TBuilder MapDefaultEndpoints<TBuilder>(this TBuilder endpoints) where TBuilder : IEndpointRouteBuilder
    {
        endpoints.MapHealthChecks(HealthEndpointPath);
        endpoints.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(LiveTag),
        });
        endpoints.MapPrometheusScrapingEndpoint(MetricsEndpointPath);

        return endpoints;
    }

    private static MetricStreamConfiguration? MetricStreamFor(string meterName)
    {
        if (meterName.StartsWith("MlPlatform.", StringComparison.Ordinal))
        {
            return null;
        }

        foreach (var fixedAttributeMeter in FixedAttributeMeters)
        {
            if (meterName == fixedAttributeMeter)
            {
                return new MetricStreamConfiguration { CardinalityLimit = FixedAttributeMetricCardinalityLimit };
            }
        }

        return new MetricStreamConfiguration { CardinalityLimit = FrameworkMetricCardinalityLimit };
    }

    private static bool IsInfrastructurePath(PathString path) =>
        path.StartsWithSegments(HealthEndpointPath)
        || path.StartsWithSegments(AlivenessEndpointPath)
        || path.StartsWithSegments(MetricsEndpointPath);
}
