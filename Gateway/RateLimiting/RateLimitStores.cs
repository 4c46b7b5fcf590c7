using System.Collections.Concurrent;

namespace MlPlatform.Gateway.RateLimiting;

/// <summary>
/// Counts one request against every window of one identifier, atomically: either every window has room
/// and each count goes up by one, or none does and nothing is counted. Kong's plugin increments after the
/// check without a lock, which lets extra requests through under concurrency; check and increment here are one step.
/// </summary>
internal interface IRateLimitStore
{
    /// <summary>
    /// Reads the clock (<see cref="RateLimitCount.Measure"/>) and fills the count of each window after this request
    /// (when allowed) or as it stands (when refused). Returns null when the counters cannot be reached.
    /// </summary>
    ValueTask<bool?> TryAcquireAsync(string identifier, RateLimitCount count);
}

/// <summary>One request's windows: when it was counted, each window's bounds and its count.</summary>
internal sealed class RateLimitCount(RateLimitWindow[] windows, TimeProvider timeProvider)
{
    public RateLimitWindow[] Windows { get; } = windows;

    public long Now { get; private set; }

    public long[] Starts { get; } = new long[windows.Length];

    public long[] Ends { get; } = new long[windows.Length];

    public long[] Counts { get; } = new long[windows.Length];

    /// <summary>Reads the clock and each window's bounds; the local store calls it under its lock, so time never runs backwards for one counter.</summary>
    public void Measure()
    {
        var now = timeProvider.GetUtcNow();
        Now = now.ToUnixTimeSeconds();
        for (var i = 0; i < Windows.Length; i++)
        {
            (Starts[i], Ends[i]) = Windows[i].Bounds(now);
        }
    }
}

/// <summary>
/// Counters in this process. System.Threading.RateLimiting's FixedWindowRateLimiter starts its windows when
/// it is created and replenishes on a timer, so its windows are neither aligned to UTC boundaries nor
/// several periods checked as one; one lock per identifier over all its windows is exact and just as cheap.
/// </summary>
internal sealed class LocalRateLimitStore : IRateLimitStore
{
    // Finished windows are swept at most this often, so memory holds the identifiers of the longest window only.
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private long _nextSweep;

    public int Count => _counters.Count;

    public ValueTask<bool?> TryAcquireAsync(string identifier, RateLimitCount count)
    {
        var windows = count.Windows;
        var starts = count.Starts;
        var counts = count.Counts;
        bool allowed;
        while (true)
        {
            var counter = _counters.GetOrAdd(identifier, static (_, length) => new Counter(length), windows.Length);
            lock (counter)
            {
                // A sweep removed it between the lookup and the lock: count in the one the dictionary holds now.
                if (counter.Removed)
                {
                    continue;
                }

                // The clock is read under the lock: a request that read it earlier but got the lock later would
                // otherwise take a counter back to a window already closed and count there a second time.
                count.Measure();

                allowed = true;
                for (var i = 0; i < windows.Length; i++)
                {
                    if (counter.Starts[i] < starts[i])
                    {
                        counter.Starts[i] = starts[i];
                        counter.Counts[i] = 0;
                    }

                    if (counter.Counts[i] >= windows[i].Limit)
                    {
                        allowed = false;
                    }
                }

                for (var i = 0; i < windows.Length; i++)
                {
                    counts[i] = allowed ? ++counter.Counts[i] : counter.Counts[i];
                }

                counter.Expires = Math.Max(counter.Expires, count.Ends[^1]);
                break;
            }
        }

        SweepIfDue(count.Now);
        return ValueTask.FromResult<bool?>(allowed);
    }

    private void SweepIfDue(long now)
    {
        var due = Interlocked.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + (long)SweepInterval.TotalSeconds, due) != due)
        {
            return;
        }

        foreach (var (identifier, counter) in _counters)
        {
            lock (counter)
            {
                if (counter.Expires <= now)
                {
                    counter.Removed = true;
                    _counters.TryRemove(new KeyValuePair<string, Counter>(identifier, counter));
                }
            }
        }
    }

    private sealed class Counter(int windows)
    {
        public readonly long[] Starts = new long[windows];
        public readonly long[] Counts = new long[windows];
        public long Expires;
        public bool Removed;
    }
}
