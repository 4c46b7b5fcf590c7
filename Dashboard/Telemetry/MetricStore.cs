using System.Globalization;
using Google.Protobuf.Collections;
using MlPlatform.Dashboard.Otlp;
using Opentelemetry.Proto.Collector.Metrics.V1;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Metrics.V1;

namespace MlPlatform.Dashboard.Telemetry;

/// <summary>What one metrics export did that the receiver should say once in its log.</summary>
internal readonly record struct MetricAddResult(int Points, int IgnoredPoints, bool StreamCapReached, IReadOnlyList<string> UnsupportedInstruments);

/// <summary>
/// Raw points per stream (service, instance, meter, instrument, attribute set), each stream a
/// ring of <see cref="TelemetryLimits.MaxPointsPerStream"/>; at most
/// <see cref="TelemetryLimits.MaxMetricStreams"/> streams, past which new ones are ignored.
/// Charts are computed from the raw points when asked for (see <see cref="MetricCharts"/>).
/// </summary>
internal sealed class MetricStore(TelemetryLimits limits, StringPool pool, ResourceRegistry resources, TimeProvider time)
{
    private const char KeySeparator = '\u001f';
    private const int MaxBuckets = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<InstrumentKey, InstrumentState> _instruments = [];
    private readonly HashSet<InstrumentKey> _unsupported = [];
    // Only used under the lock: the attribute set of one point, written as text to find its stream.
    private char[] _keyBuffer = new char[256];
    private int _streamCount;
    private long _points;
    private long _dropped;
    private bool _streamCapReported;

    public long Points => Interlocked.Read(ref _points);

    /// <summary>Points that left a full ring, and points of streams ignored past the stream cap.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int StreamCount
    {
        get
        {
            lock (_lock)
            {
                return _streamCount;
            }
        }
    }

    public MetricAddResult Add(ExportMetricsServiceRequest request)
    {
        var stored = 0;
        var ignored = 0;
        var capReached = false;
        List<string>? unsupported = null;
        lock (_lock)
        {
            foreach (var resourceMetrics in request.ResourceMetrics)
            {
                var resource = resources.Resolve(resourceMetrics.Resource);
                foreach (var scopeMetrics in resourceMetrics.ScopeMetrics)
                {
                    var meter = pool.Intern(OtlpValues.Truncate(scopeMetrics.Scope?.Name ?? string.Empty, limits.MaxValueLength));
                    foreach (var metric in scopeMetrics.Metrics)
                    {
                        var kind = KindOf(metric);
                        if (kind is null)
                        {
                            var key = new InstrumentKey(resource.ServiceName, meter, pool.Intern(OtlpValues.Truncate(metric.Name, limits.MaxValueLength)));
                            if (_unsupported.Count < 10_000 && _unsupported.Add(key))
                            {
                                (unsupported ??= []).Add($"{key.Service}/{key.Meter}/{key.Name} ({metric.DataCase})");
                            }

                            continue;
                        }

                        var state = GetInstrument(resource, meter, metric, kind.Value);
                        var (added, skipped) = AddPoints(state, resource, metric);
                        stored += added;
                        ignored += skipped;
                    }
                }
            }

            _dropped += ignored;
            if (ignored > 0 && _streamCount >= limits.MaxMetricStreams && !_streamCapReported)
            {
                _streamCapReported = capReached = true;
            }
        }

        return new MetricAddResult(stored, ignored, capReached, unsupported ?? (IReadOnlyList<string>)[]);
    }

    /// <summary>Exponential histograms and summaries are not charted; nor is a metric without data.</summary>
    private static InstrumentKind? KindOf(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Sum => metric.Sum.IsMonotonic ? InstrumentKind.Counter : InstrumentKind.UpDownCounter,
        Metric.DataOneofCase.Gauge => InstrumentKind.Gauge,
        Metric.DataOneofCase.Histogram => InstrumentKind.Histogram,
        _ => null,
    };

    private InstrumentState GetInstrument(TelemetryResource resource, string meter, Metric metric, InstrumentKind kind)
    {
        var key = new InstrumentKey(resource.ServiceName, meter, pool.Intern(OtlpValues.Truncate(metric.Name, limits.MaxValueLength)));
        if (!_instruments.TryGetValue(key, out var state))
        {
            state = new InstrumentState(key, kind);
            _instruments.Add(key, state);
        }

        if (metric.Description.Length > 0 && metric.Description != state.Description)
        {
            state.Description = pool.Intern(OtlpValues.Truncate(metric.Description, limits.MaxValueLength));
        }

        if (metric.Unit.Length > 0 && metric.Unit != state.Unit)
        {
            state.Unit = pool.Intern(OtlpValues.Truncate(metric.Unit, limits.MaxValueLength));
        }

        return state;
    }

    private (int Added, int Ignored) AddPoints(InstrumentState state, TelemetryResource resource, Metric metric)
    {
        var added = 0;
        var ignored = 0;
        switch (metric.DataCase)
        {
            case Metric.DataOneofCase.Sum:
                AddNumbers(metric.Sum.DataPoints, metric.Sum.AggregationTemporality == AggregationTemporality.Delta);
                break;
            case Metric.DataOneofCase.Gauge:
                AddNumbers(metric.Gauge.DataPoints, isDelta: false);
                break;
            case Metric.DataOneofCase.Histogram:
                var isDelta = metric.Histogram.AggregationTemporality == AggregationTemporality.Delta;
                foreach (var point in metric.Histogram.DataPoints)
                {
                    if (state.Kind != InstrumentKind.Histogram || !IsUsable(point))
                    {
                        ignored++;
                        continue;
                    }

                    var stream = FindStream(state, resource, point.Attributes, isDelta);
                    if (stream is null)
                    {
                        ignored++;
                        continue;
                    }

                    added += Append(stream.Histograms ??= new(limits.MaxPointsPerStream), ToPoint(point, stream));
                }

                break;
        }

        return (added, ignored);

        void AddNumbers(RepeatedField<NumberDataPoint> points, bool isDelta)
        {
            // An instrument whose type changed between exports keeps its first type; the others' points are ignored.
            var wanted = KindOf(metric);
            foreach (var point in points)
            {
                if (state.Kind != wanted || (point.Flags & (uint)DataPointFlags.FlagNoRecordedValue) != 0
                    || point.ValueCase == NumberDataPoint.ValueOneofCase.None)
                {
                    ignored++;
                    continue;
                }

                var stream = FindStream(state, resource, point.Attributes, isDelta);
                if (stream is null)
                {
                    ignored++;
                    continue;
                }

                var value = point.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? point.AsInt : point.AsDouble;
                added += Append(stream.Numbers ??= new(limits.MaxPointsPerStream), new NumberPoint(OtlpValues.ToUnixTicks(point.StartTimeUnixNano), OtlpValues.ToUnixTicks(point.TimeUnixNano), value));
            }
        }
    }

    /// <summary>Bucket counts must be one more than the bounds (or absent), and the bounds ascending.</summary>
    private static bool IsUsable(HistogramDataPoint point)
    {
        // Real histograms have tens of buckets; every kept point copies its counts, so a point with
        // a million would cost megabytes, times the points kept per stream.
        if ((point.Flags & (uint)DataPointFlags.FlagNoRecordedValue) != 0 || point.BucketCounts.Count > MaxBuckets)
        {
            return false;
        }

        if (point.BucketCounts.Count == 0)
        {
            return point.ExplicitBounds.Count == 0;
        }

        if (point.BucketCounts.Count != point.ExplicitBounds.Count + 1)
        {
            return false;
        }

        for (var i = 0; i < point.ExplicitBounds.Count; i++)
        {
            var bound = point.ExplicitBounds[i];
            if (double.IsNaN(bound) || (i > 0 && bound <= point.ExplicitBounds[i - 1]))
            {
                return false;
            }
        }

        return true;
    }

    private static HistogramPoint ToPoint(HistogramDataPoint point, MetricStream stream)
    {
        // Consecutive points of a stream almost always share their bounds; keep one array for all.
        var bounds = stream.LastBounds;
        if (bounds is null || !SameBounds(point.ExplicitBounds, bounds))
        {
            bounds = point.ExplicitBounds.Count == 0 ? [] : [.. point.ExplicitBounds];
            stream.LastBounds = bounds;
        }

        ulong[] buckets = point.BucketCounts.Count == 0 ? [] : [.. point.BucketCounts];
        return new HistogramPoint(OtlpValues.ToUnixTicks(point.StartTimeUnixNano), OtlpValues.ToUnixTicks(point.TimeUnixNano), point.Count, bounds, buckets);
    }

    private static bool SameBounds(RepeatedField<double> bounds, double[] known)
    {
        if (bounds.Count != known.Length)
        {
            return false;
        }

        for (var i = 0; i < known.Length; i++)
        {
            if (bounds[i] != known[i])
            {
                return false;
            }
        }

        return true;
    }

    private int Append<TPoint>(BoundedQueue<TPoint> points, TPoint point)
        where TPoint : struct, ITimedPoint
    {
        // A point not newer than the last is an exporter's retry, or out of order: charts need ascending time.
        if (!points.IsEmpty && point.Ticks <= points.Newest.Ticks)
        {
            return 0;
        }

        if (points.Add(point, out _))
        {
            _dropped++;
        }
        else
        {
            _points++;
        }

        return 1;
    }

    /// <summary>The stream of this instance and attribute set; created unless the stream cap is reached (then null).</summary>
    private MetricStream? FindStream(InstrumentState state, TelemetryResource resource, RepeatedField<KeyValue> attributes, bool isDelta)
    {
        if (!state.Streams.TryGetValue(resource, out var byAttributes))
        {
            if (_streamCount >= limits.MaxMetricStreams)
            {
                return null;
            }

            byAttributes = new Dictionary<string, MetricStream>(StringComparer.Ordinal);
            state.Streams.Add(resource, byAttributes);
        }

        var key = WriteAttributeKey(attributes);
        // Looked up by span: an existing stream (nearly every point) costs no string.
        var lookup = byAttributes.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(key, out var stream))
        {
            if (_streamCount >= limits.MaxMetricStreams)
            {
                return null;
            }

            stream = new MetricStream(resource, key.ToString());
            byAttributes.Add(stream.AttributeKey, stream);
            _streamCount++;
        }

        stream.IsDelta = isDelta;
        return stream;
    }

    /// <summary>The attribute set as "key=value" pairs sorted by key: the same set in any order is the same stream.</summary>
    private ReadOnlySpan<char> WriteAttributeKey(RepeatedField<KeyValue> attributes)
    {
        var count = attributes.Count;
        if (count == 0)
        {
            return [];
        }

        Span<int> order = count <= 16 ? stackalloc int[count] : new int[count];
        if (count <= 16)
        {
            // Insertion sort: real attribute sets are this small, and it needs no allocation.
            for (var i = 0; i < count; i++)
            {
                var j = i;
                while (j > 0 && string.CompareOrdinal(attributes[order[j - 1]].Key, attributes[i].Key) > 0)
                {
                    order[j] = order[j - 1];
                    j--;
                }

                order[j] = i;
            }
        }
        else
        {
            // A hostile export can send thousands of attributes on one point: no quadratic sort for it.
            var keys = new string[count];
            for (var i = 0; i < count; i++)
            {
                keys[i] = attributes[i].Key;
                order[i] = i;
            }

            keys.AsSpan().Sort(order, StringComparer.Ordinal);
        }

        var length = 0;
        foreach (var index in order)
        {
            var attribute = attributes[index];
            Write(attribute.Key);
            Write("=");
            WriteValue(attribute.Value);
            Write([KeySeparator]);
        }

        return _keyBuffer.AsSpan(0, length);

        void Write(ReadOnlySpan<char> text)
        {
            Ensure(text.Length);
            text.CopyTo(_keyBuffer.AsSpan(length));
            length += text.Length;
        }

        void WriteValue(AnyValue? value)
        {
            switch (value?.ValueCase)
            {
                case AnyValue.ValueOneofCase.StringValue:
                    Write(value.StringValue);
                    break;
                case AnyValue.ValueOneofCase.IntValue:
                    Ensure(20);
                    value.IntValue.TryFormat(_keyBuffer.AsSpan(length), out var written, default, CultureInfo.InvariantCulture);
                    length += written;
                    break;
                case AnyValue.ValueOneofCase.BoolValue:
                    Write(value.BoolValue ? "true" : "false");
                    break;
                default:
                    Write(OtlpValues.Format(value, limits.MaxValueLength));
                    break;
            }
        }

        void Ensure(int more)
        {
            if (length + more > _keyBuffer.Length)
            {
                Array.Resize(ref _keyBuffer, Math.Max(_keyBuffer.Length * 2, length + more));
            }
        }
    }

    /// <summary>Instruments of the services matching <paramref name="resource"/> (all when null), by meter, name, then service.</summary>
    public IReadOnlyList<InstrumentSummary> GetInstruments(string? resource)
    {
        var result = new List<InstrumentSummary>();
        lock (_lock)
        {
            foreach (var state in _instruments.Values)
            {
                if (state.Streams.Count > 0 && state.IsReportedBy(resource))
                {
                    result.Add(state.ToSummary());
                }
            }
        }

        result.Sort(static (a, b) =>
        {
            var order = string.CompareOrdinal(a.Meter, b.Meter);
            order = order != 0 ? order : string.CompareOrdinal(a.Name, b.Name);
            return order != 0 ? order : string.CompareOrdinal(a.Service, b.Service);
        });
        return result;
    }

    public MetricChart? GetChart(string resource, string meter, string instrument, TimeSpan window)
    {
        var now = OtlpValues.ToUnixTicks(time.GetUtcNow());
        var cutoff = window >= TimeSpan.FromTicks(now) ? long.MinValue : now - window.Ticks;
        lock (_lock)
        {
            foreach (var state in _instruments.Values)
            {
                if (string.Equals(state.Key.Meter, meter, StringComparison.Ordinal)
                    && string.Equals(state.Key.Name, instrument, StringComparison.Ordinal)
                    && state.Streams.Count > 0
                    && state.IsReportedBy(resource))
                {
                    return MetricCharts.Build(state, resource, cutoff);
                }
            }
        }

        return null;
    }
}

internal readonly record struct InstrumentKey(string Service, string Meter, string Name);

internal sealed class InstrumentState(InstrumentKey key, InstrumentKind kind)
{
    public InstrumentKey Key { get; } = key;

    public InstrumentKind Kind { get; } = kind;

    public string Description { get; set; } = string.Empty;

    public string Unit { get; set; } = string.Empty;

    /// <summary>Per instance, then per attribute-set key.</summary>
    public Dictionary<TelemetryResource, Dictionary<string, MetricStream>> Streams { get; } = [];

    /// <summary>Whether <paramref name="resource"/> (null: anyone) is this instrument's service or one of its instances.</summary>
    public bool IsReportedBy(string? resource)
    {
        if (string.IsNullOrEmpty(resource) || string.Equals(Key.Service, resource, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var instance in Streams.Keys)
        {
            if (ResourceRegistry.Matches(instance, resource))
            {
                return true;
            }
        }

        return false;
    }

    public InstrumentSummary ToSummary() => new(Key.Service, Key.Meter, Key.Name, Description, Unit, Kind);
}

internal sealed class MetricStream(TelemetryResource resource, string attributeKey)
{
    public TelemetryResource Resource { get; } = resource;

    public string AttributeKey { get; } = attributeKey;

    /// <summary>Delta temporality: each point covers its own interval. Otherwise cumulative (the .NET SDK default) or a gauge.</summary>
    public bool IsDelta { get; set; }

    public BoundedQueue<NumberPoint>? Numbers { get; set; }

    public BoundedQueue<HistogramPoint>? Histograms { get; set; }

    public double[]? LastBounds { get; set; }
}

/// <summary>A metric point's end time, in unix ticks (100 ns): streams keep their points in ascending order of it.</summary>
internal interface ITimedPoint
{
    long Ticks { get; }
}

/// <summary>Times are unix ticks (100 ns).</summary>
internal readonly record struct NumberPoint(long StartTicks, long Ticks, double Value) : ITimedPoint;

/// <summary><see cref="Buckets"/> has one more entry than <see cref="Bounds"/> (or both are empty).</summary>
internal readonly record struct HistogramPoint(long StartTicks, long Ticks, ulong Count, double[] Bounds, ulong[] Buckets) : ITimedPoint;
