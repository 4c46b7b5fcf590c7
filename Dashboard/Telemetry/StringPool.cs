using System.Collections.Concurrent;

namespace MlPlatform.Dashboard.Telemetry;

/// <summary>
/// Shares one instance of each short string the stores keep (attribute keys, scope names, span
/// names, repeated values such as "GET" or a route), so 100,000 spans hold a few thousand strings
/// rather than a million. Bounded: once full, new strings are kept as they are, unshared.
/// </summary>
internal sealed class StringPool(int maxEntries = 100_000, int maxLength = 256)
{
    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);
    private int _count;

    public string Intern(string value)
    {
        if (value.Length == 0)
        {
            return string.Empty;
        }

        if (value.Length > maxLength)
        {
            return value;
        }

        if (_strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        if (Volatile.Read(ref _count) >= maxEntries)
        {
            return value;
        }

        shared = _strings.GetOrAdd(value, value);
        if (ReferenceEquals(shared, value))
        {
            Interlocked.Increment(ref _count);
        }

        return shared;
    }
}
