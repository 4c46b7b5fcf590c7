using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Otlp;

/// <summary>
/// Counts every refused export and logs one warning line for it, at most
/// <see cref="LinesPerWindow"/> lines per <see cref="Window"/>: a misconfigured exporter retries
/// every few seconds and would otherwise fill the console. Lines not written are counted in the next one.
/// </summary>
internal sealed partial class OtlpRejections(TelemetryStore store, ILogger<OtlpRejections> logger)
{
    private const int LinesPerWindow = 10;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _linesInWindow;
    private long _notLogged;

    public void Report(HttpContext context, string protocol, string reason)
    {
        store.RecordRejectedExport();
        long notLogged;
        lock (_lock)
        {
            var now = store.Time.GetUtcNow();
            if (now - _windowStart >= Window)
            {
                _windowStart = now;
                _linesInWindow = 0;
            }

            if (_linesInWindow >= LinesPerWindow)
            {
                _notLogged++;
                return;
            }

            _linesInWindow++;
            notLogged = _notLogged;
            _notLogged = 0;
        }

        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (notLogged > 0)
        {
            ExportRejectedAfterQuiet(logger, protocol, context.Request.Path.Value ?? string.Empty, client, reason, notLogged);
        }
        else
        {
            ExportRejected(logger, protocol, context.Request.Path.Value ?? string.Empty, client, reason);
        }
    }

    public void MetricStreamCapReached(int maxStreams) => StreamCapReached(logger, maxStreams);

    public void UnsupportedInstruments(IReadOnlyList<string> instruments) =>
        InstrumentsNotCharted(logger, string.Join(", ", instruments));

    public void ExportFailed(HttpContext context, string signal, Exception exception) =>
        ExportNotStored(logger, signal, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", exception);

    [LoggerMessage(1, LogLevel.Warning, "Rejected an OTLP {Protocol} export to {Path} from {Client}: {Reason}")]
    private static partial void ExportRejected(ILogger logger, string protocol, string path, string client, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Rejected an OTLP {Protocol} export to {Path} from {Client}: {Reason} ({NotLogged} more rejected since the last line)")]
    private static partial void ExportRejectedAfterQuiet(ILogger logger, string protocol, string path, string client, string reason, long notLogged);

    [LoggerMessage(3, LogLevel.Warning, "The dashboard holds {MaxStreams} metric streams, its limit (Dashboard:Limits:MaxMetricStreams); points of new streams are ignored from now on")]
    private static partial void StreamCapReached(ILogger logger, int maxStreams);

    [LoggerMessage(4, LogLevel.Warning, "The dashboard does not chart these instruments (only sums, gauges and explicit-bucket histograms): {Instruments}")]
    private static partial void InstrumentsNotCharted(ILogger logger, string instruments);

    [LoggerMessage(5, LogLevel.Error, "An OTLP {Signal} export from {Client} could not be stored")]
    private static partial void ExportNotStored(ILogger logger, string signal, string client, Exception exception);
}
