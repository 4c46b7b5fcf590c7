namespace MlPlatform.Dashboard.Telemetry;

/// <summary>A process that sent telemetry: <c>service.name</c> and <c>service.instance.id</c> of its OTLP resource.</summary>
public sealed record TelemetryResource(string ServiceName, string InstanceId);

public sealed record TelemetryAttribute(string Key, string Value);

/// <summary>One structured log record.</summary>
public sealed record LogEntry(
    long Sequence,
    DateTimeOffset Timestamp,
    TelemetryResource Resource,
    int SeverityNumber,
    LogLevelName Level,
    string Message,
    string? Category,
    string? TraceId,
    string? SpanId,
    IReadOnlyList<TelemetryAttribute> Attributes);

/// <summary>The OTLP severity ranges, named as the .NET log levels they come from.</summary>
public enum LogLevelName
{
    Trace,
    Debug,
    Information,
    Warning,
    Error,
    Critical,
}

public enum SpanKindName
{
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

public enum SpanStatusName
{
    Unset,
    Ok,
    Error,
}

public sealed record SpanEvent(DateTimeOffset Timestamp, string Name, IReadOnlyList<TelemetryAttribute> Attributes);

/// <summary>One span; ids are lowercase hex, as in a <c>traceparent</c> header.</summary>
public sealed record SpanEntry(
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    SpanKindName Kind,
    DateTimeOffset Start,
    DateTimeOffset End,
    TelemetryResource Resource,
    string Scope,
    SpanStatusName Status,
    string? StatusMessage,
    IReadOnlyList<TelemetryAttribute> Attributes,
    IReadOnlyList<SpanEvent> Events)
{
    public TimeSpan Duration => End - Start;
}

/// <summary>A trace as the list shows it: its root (or earliest) span, how long, how many spans, which services.</summary>
public sealed record TraceSummary(
    string TraceId,
    string Name,
    string RootService,
    DateTimeOffset Start,
    TimeSpan Duration,
    int SpanCount,
    IReadOnlyList<string> Services,
    bool HasError);

/// <summary>One trace with its spans ordered by start, parents before children.</summary>
public sealed record TraceDetail(TraceSummary Summary, IReadOnlyList<SpanEntry> Spans);

public enum InstrumentKind
{
    Counter,
    UpDownCounter,
    Gauge,
    Histogram,
}

/// <summary>An instrument one service reports (the same for all its instances).</summary>
public sealed record InstrumentSummary(string Service, string Meter, string Name, string Description, string Unit, InstrumentKind Kind);

public readonly record struct MetricSample(DateTimeOffset Timestamp, double Value);

/// <summary>One line of a chart, for example "inference-abcdefgh rate/s" or "p99".</summary>
public sealed record MetricLine(string Label, string Unit, IReadOnlyList<MetricSample> Samples);

/// <summary>
/// What a chart of one instrument shows: counters as a rate per second per instance, up-down
/// counters and gauges as their value per instance, histograms as p50, p90 and p99 over each
/// export interval plus the rate of recordings.
/// </summary>
public sealed record MetricChart(InstrumentSummary Instrument, IReadOnlyList<MetricLine> Lines);

public sealed record LogQuery(string? Resource = null, LogLevelName? MinimumLevel = null, string? Text = null, string? TraceId = null, int Limit = 500);

public sealed record TraceQuery(string? Resource = null, string? Text = null, TimeSpan? MinimumDuration = null, int Limit = 200);

/// <summary>
/// The read side of the telemetry stores, for the UI and the JSON API. <c>Resource</c> filters
/// match a service name or an instance id. Every method is safe to call while exports arrive.
/// </summary>
public interface ITelemetryQueries
{
    /// <summary>Every resource that sent anything, ordered by service then instance.</summary>
    IReadOnlyList<TelemetryResource> GetResources();

    /// <summary>Newest first, at most <see cref="LogQuery.Limit"/>.</summary>
    IReadOnlyList<LogEntry> QueryLogs(LogQuery query);

    /// <summary>Newest first, at most <see cref="TraceQuery.Limit"/>.</summary>
    IReadOnlyList<TraceSummary> QueryTraces(TraceQuery query);

    TraceDetail? GetTrace(string traceId);

    /// <summary>Instruments of the services matching <paramref name="resource"/> (all when null), by meter then name.</summary>
    IReadOnlyList<InstrumentSummary> GetInstruments(string? resource);

    /// <summary>The chart of one instrument over the last <paramref name="window"/>; null when the service never reported it.</summary>
    MetricChart? GetChart(string resource, string meter, string instrument, TimeSpan window);

    /// <summary>Counts of what is held now and what was dropped to stay within the caps.</summary>
    TelemetryCounts GetCounts();

    /// <summary>Raised after each accepted export, so open pages can refresh.</summary>
    event Action? Changed;
}

public sealed record TelemetryCounts(int Logs, int Spans, int Traces, int MetricPoints, long DroppedLogs, long DroppedSpans, long DroppedMetricPoints, long RejectedExports);
