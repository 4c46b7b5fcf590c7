using System.Diagnostics;
using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Preprocessing.Diagnostics;

/// <summary>The meter <c>MlPlatform.Preprocessing</c>: requests by model and outcome, their duration, instances per request.</summary>
public sealed class PreprocessingMetrics
{
    public const string MeterName = "MlPlatform.Preprocessing";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Histogram<int> _instances;

    public PreprocessingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("mlplatform.preprocessing.requests", "{request}", "Preprocess requests by model and outcome.");
        _duration = meter.CreateHistogram<double>("mlplatform.preprocessing.request.duration", "s", "Time from a request's arrival to its response.", advice: InstrumentBuckets.Seconds);
        _instances = meter.CreateHistogram<int>("mlplatform.preprocessing.instances", "{instance}", "Instances in one successful request.", advice: InstrumentBuckets.BatchItems);
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
