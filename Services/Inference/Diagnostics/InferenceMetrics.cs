using System.Diagnostics;
using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Inference.Diagnostics;

/// <summary>
/// The meter <c>MlPlatform.Inference</c>: what a request's duration does not tell, the time it queued, the executions
/// and their sizes and time. Requests and their duration are ASP.NET Core's <c>http.server.request.duration</c>, tagged with the model.
/// </summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "MlPlatform.Inference";

    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly Histogram<double> _queueDuration;
    private readonly Histogram<double> _computeDuration;
    private readonly Histogram<int> _batchSize;
    private readonly Counter<long> _executions;

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _queueDuration = meter.CreateHistogram<double>("mlplatform.inference.queue.duration", "s", "Time a request waited in its model's batching queue.", advice: InstrumentBuckets.Seconds);
        _computeDuration = meter.CreateHistogram<double>("mlplatform.inference.compute.duration", "s", "Time of one ONNX Runtime execution.", advice: InstrumentBuckets.Seconds);
        _batchSize = meter.CreateHistogram<int>("mlplatform.inference.batch.size", "{item}", "Items in one execution.", advice: InstrumentBuckets.BatchItems);
        _executions = meter.CreateCounter<long>("mlplatform.inference.executions", "{execution}", "ONNX Runtime executions.");
    }

    public void Queued(string model, TimeSpan waited) =>
        _queueDuration.Record(waited.TotalSeconds, new KeyValuePair<string, object?>("model", model));

    public void Executed(string model, int batchSize, TimeSpan computeTime)
    {
        var tag = new KeyValuePair<string, object?>("model", model);
        _executions.Add(1, tag);
        _batchSize.Record(batchSize, tag);
        _computeDuration.Record(computeTime.TotalSeconds, tag);
    }
}
