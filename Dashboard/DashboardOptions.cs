using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Dashboard;

/// <summary>The dashboard's settings, from the AppHost's <c>Dashboard</c> configuration section.</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Dashboard";

    /// <summary>Whether the AppHost starts the dashboard and points every replica's OTLP exporter at it.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The address every port binds to. Loopback by default: the dashboard shows environment
    /// variables and can stop processes, so it is for this machine only.
    /// </summary>
    [Required]
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>The web UI; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int UiPort { get; set; } = 18888;

    /// <summary>OTLP over gRPC (HTTP/2 without TLS); 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int OtlpGrpcPort { get; set; } = 18889;

    /// <summary>OTLP over HTTP with protobuf bodies (<c>/v1/traces</c>, <c>/v1/logs</c>, <c>/v1/metrics</c>); 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int OtlpHttpPort { get; set; } = 18890;

    /// <summary>The token in the printed browser URL; a random one per run when empty.</summary>
    public string? BrowserToken { get; set; }

    /// <summary>The <c>x-otlp-api-key</c> every export must carry; a random one per run when empty.</summary>
    public string? OtlpApiKey { get; set; }

    /// <summary>The gateway the Try it page sends predictions to; the AppHost fills it in.</summary>
    public Uri? GatewayUrl { get; set; }

    /// <summary>The API key the Try it page sends as <c>apikey</c>; from the AppHost's configuration.</summary>
    public string? GatewayApiKey { get; set; }

    public TelemetryLimits Limits { get; set; } = new();
}

/// <summary>Caps that keep a long session's memory bounded: past a cap the oldest entries are dropped first.</summary>
public sealed class TelemetryLimits
{
    [Range(1, 10_000_000)]
    public int MaxLogEntries { get; set; } = 10_000;

    /// <summary>Spans kept across all traces; a trace whose spans are all dropped leaves the list.</summary>
    [Range(1, 10_000_000)]
    public int MaxSpans { get; set; } = 50_000;

    /// <summary>Points kept per metric stream (one instrument, instance and attribute set); at one export a second, 600 is ten minutes.</summary>
    [Range(2, 1_000_000)]
    public int MaxPointsPerStream { get; set; } = 600;

    /// <summary>Streams kept in all; a stream that would exceed it is ignored, with one log line.</summary>
    [Range(1, 1_000_000)]
    public int MaxMetricStreams { get; set; } = 5_000;

    /// <summary>Largest OTLP export accepted, in bytes, over either protocol; larger ones get 413 or RESOURCE_EXHAUSTED.</summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public int MaxExportBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Attributes kept per log, span or event; OTLP exporters may send many more.</summary>
    [Range(0, 1000)]
    public int MaxAttributes { get; set; } = 64;

    /// <summary>Longest attribute value or log message kept, in characters.</summary>
    [Range(16, 1_000_000)]
    public int MaxValueLength { get; set; } = 4096;
}
