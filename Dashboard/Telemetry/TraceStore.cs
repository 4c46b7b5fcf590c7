using MlPlatform.Dashboard.Otlp;
using Opentelemetry.Proto.Collector.Trace.V1;
using OtlpSpan = Opentelemetry.Proto.Trace.V1.Span;
using OtlpStatus = Opentelemetry.Proto.Trace.V1.Status;

namespace MlPlatform.Dashboard.Telemetry;

/// <summary>
/// The newest <see cref="TelemetryLimits.MaxSpans"/> spans, grouped by trace. Spans leave in
/// arrival order; a trace whose spans have all left is removed. Spans are kept compact (ids as
/// integers, shared strings, attributes as a flat array) and become read-model records only when
/// a trace is opened.
/// </summary>
internal sealed class TraceStore(TelemetryLimits limits, StringPool pool, ResourceRegistry resources)
{
    // Spans carry a few events (an exception, a retry); the first ones are kept, so one span
    // cannot hold megabytes of them.
    private const int MaxEventsPerSpan = 128;

    private readonly Lock _lock = new();
    private readonly Dictionary<TraceKey, TraceState> _traces = [];
    private readonly BoundedQueue<StoredSpan> _spans = new(limits.MaxSpans);
    private long _dropped;

    public (int Spans, int Traces) Counts
    {
        get
        {
            lock (_lock)
            {
                return (_spans.Count, _traces.Count);
            }
        }
    }

    /// <summary>Spans dropped to stay within the cap, and spans refused for invalid ids.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Converts and stores every valid span of the export; returns how many were stored.</summary>
    public int Add(ExportTraceServiceRequest request)
    {
        var pending = new List<(TraceKey Trace, StoredSpan Span)>();
        var invalid = 0;
        foreach (var resourceSpans in request.ResourceSpans)
        {
            var resource = resources.Resolve(resourceSpans.Resource);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                var scope = pool.Intern(OtlpValues.Truncate(scopeSpans.Scope?.Name ?? string.Empty, limits.MaxValueLength));
                foreach (var span in scopeSpans.Spans)
                {
                    if (TraceKey.TryRead(span.TraceId.Span, out var trace) && TraceKey.TryReadSpanId(span.SpanId.Span, out var spanId))
                    {
                        pending.Add((trace, Convert(span, spanId, resource, scope)));
                    }
                    else
                    {
                        invalid++;
                    }
                }
            }
        }

        var stored = 0;
        lock (_lock)
        {
            _dropped += invalid;
            foreach (var (key, span) in pending)
            {
                if (!_traces.TryGetValue(key, out var trace))
                {
                    trace = new TraceState(key);
                    _traces.Add(key, trace);
                }
                else if (trace.Contains(span.SpanId))
                {
                    // An exporter retrying after a lost response sends the same span again.
                    continue;
                }

                span.Trace = trace;
                trace.Add(span);
                stored++;
                if (_spans.Add(span, out var evicted))
                {
                    _dropped++;
                    var owner = evicted.Trace;
                    owner.Remove(evicted);
                    if (owner.Count == 0)
                    {
                        _traces.Remove(owner.Id);
                    }
                }
            }
        }

        return stored;
    }

    /// <summary>Newest first (by start), at most <see cref="TraceQuery.Limit"/>.</summary>
    public IReadOnlyList<TraceSummary> Query(TraceQuery query)
    {
        var limit = Math.Max(0, query.Limit);
        if (limit == 0)
        {
            return [];
        }

        // A min-heap of the newest `limit` matches, so a query over 50,000 traces sorts only what it returns.
        var newest = new PriorityQueue<TraceSummary, long>(Math.Min(limit, 1024) + 1);
        lock (_lock)
        {
            foreach (var trace in _traces.Values)
            {
                var summary = trace.Summary;
                if (query.MinimumDuration is { } minimum && summary.Duration < minimum)
                {
                    continue;
                }

                if (!string.IsNullOrEmpty(query.Resource) && !trace.HasResource(query.Resource))
                {
                    continue;
                }

                if (!string.IsNullOrEmpty(query.Text) && !trace.ContainsText(query.Text))
                {
                    continue;
                }

                newest.Enqueue(summary, summary.Start.UtcTicks);
                if (newest.Count > limit)
                {
                    newest.Dequeue();
                }
            }
        }

        var result = new TraceSummary[newest.Count];
        for (var i = result.Length - 1; i >= 0; i--)
        {
            result[i] = newest.Dequeue();
        }

        return result;
    }

    public TraceDetail? Get(TraceKey key)
    {
        lock (_lock)
        {
            return _traces.TryGetValue(key, out var trace) ? trace.ToDetail() : null;
        }
    }

    private StoredSpan Convert(OtlpSpan span, ulong spanId, TelemetryResource resource, string scope)
    {
        TraceKey.TryReadSpanId(span.ParentSpanId.Span, out var parent);
        var start = OtlpValues.ToUnixTicks(span.StartTimeUnixNano);
        var end = Math.Max(start, OtlpValues.ToUnixTicks(span.EndTimeUnixNano));
        StoredEvent[]? events = null;
        if (span.Events.Count > 0)
        {
            events = new StoredEvent[Math.Min(span.Events.Count, MaxEventsPerSpan)];
            for (var i = 0; i < events.Length; i++)
            {
                var e = span.Events[i];
                events[i] = new StoredEvent(
                    OtlpValues.ToUnixTicks(e.TimeUnixNano),
                    pool.Intern(OtlpValues.Truncate(e.Name, limits.MaxValueLength)),
                    OtlpValues.ReadAttributes(e.Attributes, pool, limits));
            }
        }

        var status = span.Status?.Code switch
        {
            OtlpStatus.Types.StatusCode.Ok => SpanStatusName.Ok,
            OtlpStatus.Types.StatusCode.Error => SpanStatusName.Error,
            _ => SpanStatusName.Unset,
        };
        var statusMessage = span.Status?.Message;
        return new StoredSpan
        {
            SpanId = spanId,
            ParentSpanId = parent,
            Name = pool.Intern(OtlpValues.Truncate(span.Name, limits.MaxValueLength)),
            Kind = (int)span.Kind is >= 0 and <= (int)SpanKindName.Consumer ? (SpanKindName)(int)span.Kind : SpanKindName.Unspecified,
            Status = status,
            StatusMessage = string.IsNullOrEmpty(statusMessage) ? null : OtlpValues.Truncate(statusMessage, limits.MaxValueLength),
            StartTicks = start,
            EndTicks = end,
            Resource = resource,
            Scope = scope,
            Attributes = OtlpValues.ReadAttributes(span.Attributes, pool, limits),
            Events = events,
        };
    }
}

internal readonly record struct StoredEvent(long Ticks, string Name, KeyValuePair<string, string>[] Attributes);

/// <summary>One span as the store keeps it; about 130 bytes plus its attribute array.</summary>
internal sealed class StoredSpan
{
    public TraceState Trace = null!;
    public ulong SpanId;
    public ulong ParentSpanId;
    public required string Name;
    public SpanKindName Kind;
    public SpanStatusName Status;
    public string? StatusMessage;
    public long StartTicks;
    public long EndTicks;
    public required TelemetryResource Resource;
    public required string Scope;
    public required KeyValuePair<string, string>[] Attributes;
    public StoredEvent[]? Events;

    public SpanEntry ToEntry(string traceId)
    {
        var attributes = ToAttributes(Attributes);
        IReadOnlyList<SpanEvent> events = [];
        if (Events is { Length: > 0 })
        {
            var list = new SpanEvent[Events.Length];
            for (var i = 0; i < list.Length; i++)
            {
                list[i] = new SpanEvent(OtlpValues.ToTimestamp(Events[i].Ticks), Events[i].Name, ToAttributes(Events[i].Attributes));
            }

            events = list;
        }

        return new SpanEntry(
            traceId,
            TraceKey.SpanIdToHex(SpanId),
            ParentSpanId == 0 ? null : TraceKey.SpanIdToHex(ParentSpanId),
            Name,
            Kind,
            OtlpValues.ToTimestamp(StartTicks),
            OtlpValues.ToTimestamp(EndTicks),
            Resource,
            Scope,
            Status,
            StatusMessage,
            attributes,
            events);
    }

    private static TelemetryAttribute[] ToAttributes(KeyValuePair<string, string>[] attributes)
    {
        if (attributes.Length == 0)
        {
            return [];
        }

        var list = new TelemetryAttribute[attributes.Length];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = new TelemetryAttribute(attributes[i].Key, attributes[i].Value);
        }

        return list;
    }
}

/// <summary>The spans of one trace, in arrival order; the oldest leave from the front.</summary>
internal sealed class TraceState(TraceKey id)
{
    // Past this many spans, "is this span id here?" uses a set instead of a scan.
    private const int ScanLimit = 16;

    private readonly List<StoredSpan?> _spans = [];
    private int _head;
    private HashSet<ulong>? _ids;
    private TraceSummary? _summary;
    private string? _hex;

    public TraceKey Id { get; } = id;

    public int Count => _spans.Count - _head;

    public string Hex => _hex ??= Id.ToHex();

    /// <summary>Computed when first asked for after a change, then kept.</summary>
    public TraceSummary Summary => _summary ??= ComputeSummary();

    public void Add(StoredSpan span)
    {
        _spans.Add(span);
        _ids?.Add(span.SpanId);
        if (_ids is null && Count > ScanLimit)
        {
            _ids = [];
            for (var i = _head; i < _spans.Count; i++)
            {
                _ids.Add(_spans[i]!.SpanId);
            }
        }

        _summary = null;
    }

    /// <summary>Removes a span; the store evicts in arrival order, so it is the oldest one here.</summary>
    public void Remove(StoredSpan span)
    {
        if (ReferenceEquals(_spans[_head], span))
        {
            _spans[_head++] = null;
        }
        else
        {
            var index = _spans.IndexOf(span, _head);
            if (index < 0)
            {
                return;
            }

            _spans.RemoveAt(index);
        }

        _ids?.Remove(span.SpanId);
        _summary = null;
        if (_head > 32 && _head * 2 > _spans.Count)
        {
            _spans.RemoveRange(0, _head);
            _head = 0;
        }
    }

    public bool Contains(ulong spanId)
    {
        if (_ids is not null)
        {
            return _ids.Contains(spanId);
        }

        for (var i = _head; i < _spans.Count; i++)
        {
            if (_spans[i]!.SpanId == spanId)
            {
                return true;
            }
        }

        return false;
    }

    public bool HasResource(string resource)
    {
        for (var i = _head; i < _spans.Count; i++)
        {
            if (ResourceRegistry.Matches(_spans[i]!.Resource, resource))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the trace id, a span name, a service, a status message or an attribute value contains <paramref name="text"/>.</summary>
    public bool ContainsText(string text)
    {
        if (Hex.Contains(text, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        for (var i = _head; i < _spans.Count; i++)
        {
            var span = _spans[i]!;
            if (span.Name.Contains(text, StringComparison.OrdinalIgnoreCase)
                || span.Resource.ServiceName.Contains(text, StringComparison.OrdinalIgnoreCase)
                || (span.StatusMessage?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false))
            {
                return true;
            }

            foreach (var attribute in span.Attributes)
            {
                if (attribute.Value.Contains(text, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Roots: spans without a parent or whose parent is not here (not received yet, or dropped).</summary>
    private bool IsRoot(StoredSpan span) => span.ParentSpanId == 0 || !Contains(span.ParentSpanId);

    private TraceSummary ComputeSummary()
    {
        StoredSpan? root = null, earliest = null;
        var start = long.MaxValue;
        var end = long.MinValue;
        var hasError = false;
        var services = new List<string>(4);
        HashSet<string>? seen = null;
        for (var i = _head; i < _spans.Count; i++)
        {
            var span = _spans[i]!;
            start = Math.Min(start, span.StartTicks);
            end = Math.Max(end, span.EndTicks);
            hasError |= span.Status == SpanStatusName.Error;
            var service = span.Resource.ServiceName;
            // A list while there are a few services (the usual trace); a set past that, so a
            // hostile trace of 50,000 services is not quadratic.
            if (seen is not null ? seen.Add(service) : !services.Contains(service))
            {
                services.Add(service);
                if (seen is null && services.Count > 8)
                {
                    seen = new HashSet<string>(services, StringComparer.Ordinal);
                }
            }

            if (earliest is null || span.StartTicks < earliest.StartTicks)
            {
                earliest = span;
            }

            if ((root is null || span.StartTicks < root.StartTicks) && IsRoot(span))
            {
                root = span;
            }
        }

        root ??= earliest!;
        services.Sort(StringComparer.Ordinal);
        return new TraceSummary(
            Hex,
            root.Name,
            root.Resource.ServiceName,
            OtlpValues.ToTimestamp(start),
            TimeSpan.FromTicks(end - start),
            Count,
            services,
            hasError);
    }

    /// <summary>Spans ordered by start with every parent before its children (depth first), then any left in a parent cycle.</summary>
    public TraceDetail ToDetail()
    {
        var spans = new List<StoredSpan>(Count);
        for (var i = _head; i < _spans.Count; i++)
        {
            spans.Add(_spans[i]!);
        }

        // List.Sort is not stable; break ties on arrival so equal starts keep their order.
        var arrival = new Dictionary<StoredSpan, int>(spans.Count, ReferenceEqualityComparer.Instance);
        for (var i = 0; i < spans.Count; i++)
        {
            arrival[spans[i]] = i;
        }

        spans.Sort((a, b) => a.StartTicks != b.StartTicks ? a.StartTicks.CompareTo(b.StartTicks) : arrival[a].CompareTo(arrival[b]));

        var children = new Dictionary<ulong, List<StoredSpan>>();
        var roots = new List<StoredSpan>();
        foreach (var span in spans)
        {
            if (IsRoot(span))
            {
                roots.Add(span);
            }
            else
            {
                if (!children.TryGetValue(span.ParentSpanId, out var list))
                {
                    children[span.ParentSpanId] = list = [];
                }

                list.Add(span);
            }
        }

        var ordered = new List<SpanEntry>(spans.Count);
        var visited = new HashSet<StoredSpan>(ReferenceEqualityComparer.Instance);
        // An explicit stack: a hostile trace can nest 50,000 spans deep.
        var stack = new Stack<StoredSpan>();
        for (var r = roots.Count - 1; r >= 0; r--)
        {
            stack.Push(roots[r]);
        }

        while (stack.Count > 0)
        {
            var span = stack.Pop();
            if (!visited.Add(span))
            {
                continue;
            }

            ordered.Add(span.ToEntry(Hex));
            if (children.TryGetValue(span.SpanId, out var list))
            {
                for (var c = list.Count - 1; c >= 0; c--)
                {
                    stack.Push(list[c]);
                }
            }
        }

        if (ordered.Count < spans.Count)
        {
            foreach (var span in spans)
            {
                if (visited.Add(span))
                {
                    ordered.Add(span.ToEntry(Hex));
                }
            }
        }

        return new TraceDetail(Summary, ordered);
    }
}
