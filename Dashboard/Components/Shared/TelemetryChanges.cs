using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>
/// Remembers that the telemetry store changed since a page last read it. The store raises
/// <see cref="ITelemetryQueries.Changed"/> on the exporter's thread for every export; a flag lets
/// the page's own timer decide when to read, on the page's own thread.
/// </summary>
public sealed class TelemetryChanges : IDisposable
{
    private readonly ITelemetryQueries _telemetry;
    private int _changed = 1;

    public TelemetryChanges(ITelemetryQueries telemetry)
    {
        _telemetry = telemetry;
        _telemetry.Changed += OnChanged;
    }

    /// <summary>True once after each change (and the first time), then false until the next.</summary>
    public bool Take() => Interlocked.Exchange(ref _changed, 0) == 1;

    private void OnChanged() => Volatile.Write(ref _changed, 1);

    public void Dispose() => _telemetry.Changed -= OnChanged;
}
