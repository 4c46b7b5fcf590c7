using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>One span's row: how deep it nests and where its bar sits, in percent of the trace's length.</summary>
public sealed record WaterfallRow(SpanEntry Span, int Depth, double OffsetPercent, double WidthPercent);

/// <summary>Lays a trace out as a waterfall: each span under its parent, children by start time.</summary>
public static class WaterfallLayout
{
    /// <summary>Thinner bars than this vanish; a 40 µs span beside a 40 ms one is still a span.</summary>
    private const double MinimumWidthPercent = 0.3;

    public static IReadOnlyList<WaterfallRow> Build(IReadOnlyList<SpanEntry> spans, out TimeSpan total)
    {
        if (spans.Count == 0)
        {
            total = TimeSpan.Zero;
            return [];
        }

        var start = spans.Min(s => s.Start);
        total = spans.Max(s => s.End) - start;
        var length = Math.Max(total.Ticks, 1);

        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        var children = spans
            .Where(s => s.ParentSpanId is not null && ids.Contains(s.ParentSpanId))
            .GroupBy(s => s.ParentSpanId!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Start).ToList(), StringComparer.Ordinal);

        // A span whose parent never arrived (or lives in another process that did not export) starts a tree of its own.
        var roots = spans.Where(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).OrderBy(s => s.Start);
        var rows = new List<WaterfallRow>(spans.Count);
        var placed = new HashSet<string>(StringComparer.Ordinal);

        void Place(SpanEntry span, int depth)
        {
            // Span ids come from the exporters; a repeated or cyclic id must not loop forever.
            if (!placed.Add(span.SpanId))
            {
                return;
            }

            var offset = 100.0 * (span.Start - start).Ticks / length;
            var width = Math.Max(MinimumWidthPercent, 100.0 * span.Duration.Ticks / length);
            rows.Add(new WaterfallRow(span, depth, offset, Math.Min(width, 100 - Math.Min(offset, 100 - MinimumWidthPercent))));
            foreach (var child in children.GetValueOrDefault(span.SpanId) ?? [])
            {
                Place(child, depth + 1);
            }
        }

        foreach (var root in roots)
        {
            Place(root, 0);
        }

        foreach (var orphan in spans.Where(s => !placed.Contains(s.SpanId)).OrderBy(s => s.Start))
        {
            Place(orphan, 0);
        }

        return rows;
    }

    /// <summary>A trace id as it appears in <c>traceparent</c>: 32 hex digits, not all zero; lowercased.</summary>
    public static bool TryNormalizeTraceId(string? text, out string traceId)
    {
        traceId = text?.Trim().ToLowerInvariant() ?? "";
        return traceId.Length == 32 && traceId.All(char.IsAsciiHexDigit) && traceId.Any(c => c != '0');
    }
}
