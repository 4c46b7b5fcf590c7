using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MlPlatform.Preprocessing.Diagnostics;

/// <summary>The meter <c>MlPlatform.Preprocessing</c>: requests by model and outcome, their duration, instances per request.</summary>
public sealed class PreprocessingMetrics
{
    public const string MeterName = "MlPlatform.Preprocessing";

    // Preprocessing takes milliseconds for a digit and tens of milliseconds for a photo; the SDK's default buckets start at 5 s.
    private static readonly InstrumentAdvice<double> DurationBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private static readonly InstrumentAdvice<int> InstanceBuckets = new() { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] };

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Histogram<int> _instances;

    public PreprocessingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("mlplatform.preprocessing.requests", "{request}", "Preprocess requests by model and outcome.");
        _duration = meter.CreateHistogram<double>("mlplatform.preprocessing.request.duration", "s", "Time from a request's arrival to its response.", advice: DurationBuckets);
        _instances = meter.CreateHistogram<int>("mlplatform.preprocessing.instances", "{instance}", "Instances in one successful request.", advice: InstanceBuckets);
    }

    public void RequestCompleted(string model, string outcome, TimeSpan duration, int instances)
    {
        var tags = new TagList { { "model", model }, { "outcome", outcome } };
        _requests.Add(1, tags);
        _duration.Record(duration.TotalSeconds, tags);
        if (instances > 0)
        {
            _instances.Record(instances, new KeyValuePair<string, object?>("model", model));
        }
    }
}
