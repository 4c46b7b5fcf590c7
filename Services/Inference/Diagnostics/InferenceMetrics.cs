using System.Diagnostics;
using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Inference.Diagnostics;

/// <summary>
/// The meter <c>MlPlatform.Inference</c>: what a request's duration does not tell, the time it queued, the executions
/// and their sizes and time. Requests and their duration are ASP.NET Core's <c>http.server.request.duration</c>, tagged with the model.
/// </summary>
/// <remarks>
/// Recorded for the same events as the statistics extension counts, successful requests and the executions that
/// produced outputs, so that a model's counts here equal the sums of its versions' <c>/stats</c>.
/// </remarks>
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
        _queueDuration = meter.CreateHistogram<double>("mlplatform.inference.queue.duration", "s", "Time a request that got its outputs waited in its model's batching queue; 0 for a model without batching.", advice: InstrumentBuckets.Seconds);
        _computeDuration = meter.CreateHistogram<double>("mlplatform.inference.compute.duration", "s", "Time of one ONNX Runtime execution that produced outputs: building the inputs, the run and reading the outputs.", advice: InstrumentBuckets.Seconds);
        _batchSize = meter.CreateHistogram<int>("mlplatform.inference.batch.size", "{item}", "Items in one execution that produced outputs.", advice: InstrumentBuckets.BatchItems);
        _executions = meter.CreateCounter<long>("mlplatform.inference.executions", "{execution}", "ONNX Runtime executions that produced outputs.");
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
