using MlPlatform.Dashboard.Otlp;
using Opentelemetry.Proto.Collector.Logs.V1;
using Opentelemetry.Proto.Collector.Metrics.V1;
using Opentelemetry.Proto.Collector.Trace.V1;

namespace MlPlatform.Dashboard.Telemetry;

/// <summary>
/// The dashboard's telemetry: bounded in-memory stores of logs, spans and metric points, filled
/// by the OTLP receiver and read by the UI and the JSON API. Each store has its own lock, so an
/// export of logs never waits for a query over traces; conversion from OTLP happens outside the
/// locks where it can.
/// </summary>
public sealed class TelemetryStore : ITelemetryQueries
{
    private readonly StringPool _pool = new();
    private readonly ResourceRegistry _resources;
    private readonly LogStore _logs;
    private readonly TraceStore _traces;
    private readonly MetricStore _metrics;
    private long _rejectedExports;

    public TelemetryStore(TelemetryLimits limits, TimeProvider time)
    {
        Limits = limits;
        Time = time;
        _resources = new ResourceRegistry(_pool);
        _logs = new LogStore(limits, _pool, _resources, time);
        _traces = new TraceStore(limits, _pool, _resources);
        _metrics = new MetricStore(limits, _pool, _resources, time);
    }

    public TelemetryLimits Limits { get; }

    public TimeProvider Time { get; }

    public event Action? Changed;

    /// <summary>Stores the spans of one export; returns how many were kept (invalid ids and repeats are not).</summary>
    internal int AddTraces(ExportTraceServiceRequest request)
    {
        var stored = _traces.Add(request);
        RaiseChanged();
        return stored;
    }

    internal int AddLogs(ExportLogsServiceRequest request)
    {
        var stored = _logs.Add(request);
        RaiseChanged();
        return stored;
    }

    internal MetricAddResult AddMetrics(ExportMetricsServiceRequest request)
    {
        var result = _metrics.Add(request);
        RaiseChanged();
        return result;
    }

    /// <summary>Counts an export the receiver refused (no key, too large, malformed).</summary>
    internal void RecordRejectedExport() => Interlocked.Increment(ref _rejectedExports);

    public IReadOnlyList<TelemetryResource> GetResources() => _resources.GetAll();

    public IReadOnlyList<LogEntry> QueryLogs(LogQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return _logs.Query(query);
    }

    public IReadOnlyList<TraceSummary> QueryTraces(TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return _traces.Query(query);
    }

    public TraceDetail? GetTrace(string traceId) =>
        TraceKey.TryParse(traceId, out var key) ? _traces.Get(key) : null;

    public IReadOnlyList<InstrumentSummary> GetInstruments(string? resource) => _metrics.GetInstruments(resource);

    public MetricChart? GetChart(string resource, string meter, string instrument, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(instrument);
        return _metrics.GetChart(resource, meter, instrument, window);
    }

    public TelemetryCounts GetCounts()
    {
        var (spans, traces) = _traces.Counts;
        return new TelemetryCounts(
            _logs.Count,
            spans,
            traces,
            (int)Math.Min(int.MaxValue, _metrics.Points),
            _logs.Dropped,
            _traces.Dropped,
            _metrics.Dropped,
            Interlocked.Read(ref _rejectedExports));
    }

    internal void RaiseChanged()
    {
        var handlers = Changed;
        if (handlers is null)
        {
            return;
        }

        // A failing page must not fail the export that happened to trigger its refresh, nor stop
        // the other pages from hearing about it.
        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action)handler)();
            }
#pragma warning disable CA1031 // The subscriber's failure is its own; the receiver must keep working.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
