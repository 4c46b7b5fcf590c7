namespace MlPlatform.AppHost.SelfHealing;

/// <summary>
/// When a process that exited on its own is started again. A replica that had come up and then died is
/// started at once, as a crash is met in a cluster: every second it is down, the others carry its load. That
/// happens once a minute at most; a process that dies before it ran for a minute, or soon again, waits longer
/// each time (0.5, 1, 2 ... 30 s), so a crash loop cannot keep the machine busy starting it.
/// </summary>
internal sealed class RestartPolicy(TimeProvider time)
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, History> _histories = new(StringComparer.Ordinal);

    /// <summary>How long to wait before starting <paramref name="resourceId"/> again, which ran for <paramref name="ranFor"/>.</summary>
    public TimeSpan NextDelay(string resourceId, TimeSpan ranFor, bool cameUpHealthy)
    {
        lock (_histories)
        {
            var now = time.GetTimestamp();
            var history = _histories.TryGetValue(resourceId, out var known) ? known : new History();
            if (ranFor > StableRun)
            {
                history.Backoff = FirstBackoff;
            }

            var immediate = cameUpHealthy && (history.LastImmediate is not { } last || time.GetElapsedTime(last, now) > StableRun);
            TimeSpan delay;
            if (immediate)
            {
                history.LastImmediate = now;
                delay = TimeSpan.Zero;
            }
            else
            {
                delay = history.Backoff;
                history.Backoff = TimeSpan.FromTicks(Math.Min(history.Backoff.Ticks * 2, MaxBackoff.Ticks));
            }

            _histories[resourceId] = history;
            return delay;
        }
    }

    private sealed class History
    {
        public TimeSpan Backoff { get; set; } = FirstBackoff;

        public long? LastImmediate { get; set; }
    }
}
