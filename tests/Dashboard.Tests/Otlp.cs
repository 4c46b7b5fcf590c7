using Google.Protobuf;
using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Collector.Logs.V1;
using Opentelemetry.Proto.Collector.Metrics.V1;
using Opentelemetry.Proto.Collector.Trace.V1;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Logs.V1;
using Opentelemetry.Proto.Metrics.V1;
using Opentelemetry.Proto.Resource.V1;
using Opentelemetry.Proto.Trace.V1;

namespace MlPlatform.Dashboard.Tests;

/// <summary>Builds OTLP messages with the generated types, the way an exporter would send them.</summary>
internal static class Otlp
{
    /// <summary>A round moment (a multiple of 60 s since the epoch), so histogram bins are easy to reason about.</summary>
    public static readonly DateTimeOffset T0 = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static ulong Nanos(DateTimeOffset time) => (ulong)(time - DateTimeOffset.UnixEpoch).Ticks * 100;

    public static ulong Nanos(double secondsAfterT0) => Nanos(T0.AddSeconds(secondsAfterT0));

    public static Resource Resource(string service, string? instance = null)
    {
        var resource = new Resource();
        resource.Attributes.Add(Attribute("service.name", service));
        if (instance is not null)
        {
            resource.Attributes.Add(Attribute("service.instance.id", instance));
        }

        return resource;
    }

    public static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static KeyValue Attribute(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    public static ByteString TraceId(int n) => ByteString.CopyFrom(Convert.FromHexString($"{n:x32}"));

    public static string TraceHex(int n) => $"{n:x32}";

    public static ByteString SpanId(int n) => n == 0 ? ByteString.Empty : ByteString.CopyFrom(Convert.FromHexString($"{n:x16}"));

    public static string SpanHex(int n) => $"{n:x16}";

    public static Span Span(int trace, int id, int parent, string name, double startSeconds, double endSeconds, Status.Types.StatusCode status = Status.Types.StatusCode.Unset) => new()
    {
        TraceId = TraceId(trace),
        SpanId = SpanId(id),
        ParentSpanId = SpanId(parent),
        Name = name,
        Kind = Opentelemetry.Proto.Trace.V1.Span.Types.SpanKind.Server,
        StartTimeUnixNano = Nanos(startSeconds),
        EndTimeUnixNano = Nanos(endSeconds),
        Status = new Status { Code = status },
    };

    public static ExportTraceServiceRequest Traces(string service, string? instance, params Span[] spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test.scope" } };
        scope.Spans.AddRange(spans);
        var resourceSpans = new ResourceSpans { Resource = Resource(service, instance) };
        resourceSpans.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }

    public static LogRecord Log(string body, int severity = 9, double atSeconds = 0, params KeyValue[] attributes)
    {
        var record = new LogRecord
        {
            TimeUnixNano = Nanos(atSeconds),
            SeverityNumber = (SeverityNumber)severity,
            Body = new AnyValue { StringValue = body },
        };
        record.Attributes.AddRange(attributes);
        return record;
    }

    public static ExportLogsServiceRequest Logs(string service, string? instance, string category, params LogRecord[] records)
    {
        var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = category } };
        scope.LogRecords.AddRange(records);
        var resourceLogs = new ResourceLogs { Resource = Resource(service, instance) };
        resourceLogs.ScopeLogs.Add(scope);
        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(resourceLogs);
        return request;
    }

    public static ExportMetricsServiceRequest Metrics(string service, string? instance, string meter, params Metric[] metrics)
    {
        var scope = new ScopeMetrics { Scope = new InstrumentationScope { Name = meter } };
        scope.Metrics.AddRange(metrics);
        var resourceMetrics = new ResourceMetrics { Resource = Resource(service, instance) };
        resourceMetrics.ScopeMetrics.Add(scope);
        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(resourceMetrics);
        return request;
    }

    public static NumberDataPoint Number(double atSeconds, double value, double startSeconds = -60, params KeyValue[] attributes)
    {
        var point = new NumberDataPoint { StartTimeUnixNano = Nanos(startSeconds), TimeUnixNano = Nanos(atSeconds), AsDouble = value };
        point.Attributes.AddRange(attributes);
        return point;
    }

    public static Metric Sum(string name, bool monotonic, AggregationTemporality temporality, params NumberDataPoint[] points)
    {
        var sum = new Sum { IsMonotonic = monotonic, AggregationTemporality = temporality };
        sum.DataPoints.AddRange(points);
        return new Metric { Name = name, Unit = "{request}", Description = $"{name} description", Sum = sum };
    }

    public static Metric Counter(string name, params NumberDataPoint[] points) => Sum(name, true, AggregationTemporality.Cumulative, points);

    public static Metric Gauge(string name, params NumberDataPoint[] points)
    {
        var gauge = new Gauge();
        gauge.DataPoints.AddRange(points);
        return new Metric { Name = name, Unit = "1", Gauge = gauge };
    }

    public static HistogramDataPoint HistogramPoint(double atSeconds, double[] bounds, ulong[] buckets, double startSeconds = -60, params KeyValue[] attributes)
    {
        var point = new HistogramDataPoint { StartTimeUnixNano = Nanos(startSeconds), TimeUnixNano = Nanos(atSeconds) };
        point.ExplicitBounds.AddRange(bounds);
        point.BucketCounts.AddRange(buckets);
        point.Count = (ulong)buckets.Sum(b => (long)b);
        point.Attributes.AddRange(attributes);
        return point;
    }

    public static Metric Histogram(string name, AggregationTemporality temporality, params HistogramDataPoint[] points)
    {
        var histogram = new Histogram { AggregationTemporality = temporality };
        histogram.DataPoints.AddRange(points);
        return new Metric { Name = name, Unit = "s", Histogram = histogram };
    }

    public static TelemetryLimits Limits(Action<TelemetryLimits>? change = null)
    {
        var limits = new TelemetryLimits();
        change?.Invoke(limits);
        return limits;
    }
}

/// <summary>A clock the test sets.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
