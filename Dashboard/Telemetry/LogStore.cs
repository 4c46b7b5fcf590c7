using System.Text;
using MlPlatform.Dashboard.Otlp;
using Opentelemetry.Proto.Collector.Logs.V1;
using Opentelemetry.Proto.Logs.V1;

namespace MlPlatform.Dashboard.Telemetry;

/// <summary>The newest <see cref="TelemetryLimits.MaxLogEntries"/> log records; older ones are dropped first.</summary>
internal sealed class LogStore(TelemetryLimits limits, StringPool pool, ResourceRegistry resources, TimeProvider time)
{
    // The .NET exporter sends the message template under this key when the body is the formatted message.
    private const string OriginalFormatKey = "{OriginalFormat}";
    private const int MaxPlaceholderLength = 256;

    private readonly Lock _lock = new();
    private readonly BoundedQueue<LogEntry> _entries = new(limits.MaxLogEntries);
    private long _nextSequence;
    private long _dropped;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Converts and stores every record of the export; returns how many were stored.</summary>
    public int Add(ExportLogsServiceRequest request)
    {
        var pending = new List<PendingLog>();
        foreach (var resourceLogs in request.ResourceLogs)
        {
            var resource = resources.Resolve(resourceLogs.Resource);
            foreach (var scopeLogs in resourceLogs.ScopeLogs)
            {
                // The .NET exporter groups records by logger category and names the scope after it.
                var scopeName = scopeLogs.Scope?.Name;
                var category = string.IsNullOrEmpty(scopeName) ? null : pool.Intern(OtlpValues.Truncate(scopeName, limits.MaxValueLength));
                foreach (var record in scopeLogs.LogRecords)
                {
                    pending.Add(Convert(record, resource, category));
                }
            }
        }

        if (pending.Count == 0)
        {
            return 0;
        }

        lock (_lock)
        {
            foreach (var entry in pending)
            {
                if (_entries.Add(entry.ToEntry(_nextSequence++), out _))
                {
                    _dropped++;
                }
            }
        }

        return pending.Count;
    }

    /// <summary>Newest first, at most <see cref="LogQuery.Limit"/>.</summary>
    public IReadOnlyList<LogEntry> Query(LogQuery query)
    {
        var limit = Math.Max(0, query.Limit);
        var result = new List<LogEntry>(Math.Min(limit, 1024));
        if (limit == 0)
        {
            return result;
        }

        lock (_lock)
        {
            for (var i = _entries.Count - 1; i >= 0 && result.Count < limit; i--)
            {
                var entry = _entries[i];
                if (Matches(entry, query))
                {
                    result.Add(entry);
                }
            }
        }

        return result;
    }

    private static bool Matches(LogEntry entry, LogQuery query)
    {
        if (query.MinimumLevel is { } level && entry.Level < level)
        {
            return false;
        }

        if (!ResourceRegistry.Matches(entry.Resource, query.Resource))
        {
            return false;
        }

        if (!string.IsNullOrEmpty(query.TraceId) && !string.Equals(entry.TraceId, query.TraceId, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return string.IsNullOrEmpty(query.Text) || ContainsText(entry, query.Text);
    }

    private static bool ContainsText(LogEntry entry, string text)
    {
        if (entry.Message.Contains(text, StringComparison.OrdinalIgnoreCase)
            || (entry.Category?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return true;
        }

        foreach (var attribute in entry.Attributes)
        {
            if (attribute.Value.Contains(text, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private PendingLog Convert(LogRecord record, TelemetryResource resource, string? category)
    {
        var attributes = OtlpValues.ReadAttributes(record.Attributes, pool, limits);
        var timestamp = record.TimeUnixNano != 0 ? OtlpValues.ToTimestamp(OtlpValues.ToUnixTicks(record.TimeUnixNano))
            : record.ObservedTimeUnixNano != 0 ? OtlpValues.ToTimestamp(OtlpValues.ToUnixTicks(record.ObservedTimeUnixNano))
            : time.GetUtcNow();
        var severity = (int)record.SeverityNumber;
        var list = attributes.Length == 0 ? [] : new TelemetryAttribute[attributes.Length];
        for (var i = 0; i < attributes.Length; i++)
        {
            list[i] = new TelemetryAttribute(attributes[i].Key, attributes[i].Value);
        }

        return new PendingLog(
            timestamp,
            resource,
            severity,
            LevelOf(severity, record.SeverityText),
            Message(record, attributes, limits.MaxValueLength),
            category,
            OtlpValues.IdToHex(record.TraceId),
            OtlpValues.IdToHex(record.SpanId),
            list);
    }

    /// <summary>A converted record waiting for its sequence number, which is only given under the lock.</summary>
    private readonly record struct PendingLog(
        DateTimeOffset Timestamp,
        TelemetryResource Resource,
        int SeverityNumber,
        LogLevelName Level,
        string Message,
        string? Category,
        string? TraceId,
        string? SpanId,
        IReadOnlyList<TelemetryAttribute> Attributes)
    {
        public LogEntry ToEntry(long sequence) =>
            new(sequence, Timestamp, Resource, SeverityNumber, Level, Message, Category, TraceId, SpanId, Attributes);
    }

    /// <summary>The OTLP severity ranges (1-4 trace ... 21-24 fatal); an unset number falls back to the severity text.</summary>
    public static LogLevelName LevelOf(int severityNumber, string? severityText) => severityNumber switch
    {
        >= 1 and <= 4 => LogLevelName.Trace,
        >= 5 and <= 8 => LogLevelName.Debug,
        >= 9 and <= 12 => LogLevelName.Information,
        >= 13 and <= 16 => LogLevelName.Warning,
        >= 17 and <= 20 => LogLevelName.Error,
        >= 21 => LogLevelName.Critical,
        _ => LevelOfText(severityText),
    };

    private static LogLevelName LevelOfText(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return LogLevelName.Information;
        }

        var t = text.AsSpan();
        if (t.StartsWith("trace", StringComparison.OrdinalIgnoreCase))
        {
            return LogLevelName.Trace;
        }

        if (t.StartsWith("debug", StringComparison.OrdinalIgnoreCase))
        {
            return LogLevelName.Debug;
        }

        if (t.StartsWith("warn", StringComparison.OrdinalIgnoreCase))
        {
            return LogLevelName.Warning;
        }

        if (t.StartsWith("err", StringComparison.OrdinalIgnoreCase))
        {
            return LogLevelName.Error;
        }

        return t.StartsWith("fatal", StringComparison.OrdinalIgnoreCase) || t.StartsWith("crit", StringComparison.OrdinalIgnoreCase)
            ? LogLevelName.Critical
            : LogLevelName.Information;
    }

    /// <summary>
    /// The body as text. A .NET exporter without IncludeFormattedMessage sends the message template
    /// as the body ("Request {Path} failed") and the values as attributes; such a body is filled in
    /// here. With IncludeFormattedMessage the body is already formatted and the template arrives as
    /// the <c>{OriginalFormat}</c> attribute, so the body is left as it is.
    /// </summary>
    private static string Message(LogRecord record, KeyValuePair<string, string>[] attributes, int maxLength)
    {
        var body = OtlpValues.Format(record.Body, maxLength);
        if (attributes.Length == 0 || !body.Contains('{') || OtlpValues.Find(attributes, OriginalFormatKey) is not null)
        {
            return body;
        }

        return OtlpValues.Truncate(FillTemplate(body, attributes), maxLength);
    }

    /// <summary>Replaces each <c>{Name}</c> (or <c>{Name:format}</c>, <c>{Name,align}</c>) that names an attribute; <c>{{</c> and <c>}}</c> are literal braces.</summary>
    internal static string FillTemplate(string template, KeyValuePair<string, string>[] attributes)
    {
        var builder = new StringBuilder(template.Length + 32);
        // The next '}' at or after the current position; it only moves forward, so a body of
        // thousands of unclosed braces costs one pass, not one pass per brace.
        var nextClose = template.IndexOf('}');
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                builder.Append(c);
                i += 2;
                continue;
            }

            if (c == '{')
            {
                while (nextClose >= 0 && nextClose <= i)
                {
                    nextClose = template.IndexOf('}', nextClose + 1);
                }

                // A hole longer than any real placeholder name is text, and is not searched.
                if (nextClose > i && nextClose - i <= MaxPlaceholderLength)
                {
                    var hole = template.AsSpan(i + 1, nextClose - i - 1);
                    var end = hole.IndexOfAny(',', ':');
                    if (FindValue(attributes, end >= 0 ? hole[..end] : hole) is { } value)
                    {
                        builder.Append(value);
                        i = nextClose + 1;
                        continue;
                    }
                }
            }

            builder.Append(c);
            i++;
        }

        return builder.ToString();
    }

    private static string? FindValue(KeyValuePair<string, string>[] attributes, ReadOnlySpan<char> name)
    {
        foreach (var attribute in attributes)
        {
            if (name.SequenceEqual(attribute.Key))
            {
                return attribute.Value;
            }
        }

        return null;
    }
}
