using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Preprocessing.Diagnostics;

/// <summary>
/// The meter <c>MlPlatform.Preprocessing</c>: instances per request. Requests and their duration are ASP.NET Core's
/// <c>http.server.request.duration</c>, tagged with the model.
/// </summary>
public sealed class PreprocessingMetrics
{
    public const string MeterName = "MlPlatform.Preprocessing";

    private readonly Histogram<int> _instances;

    public PreprocessingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _instances = meter.CreateHistogram<int>("mlplatform.preprocessing.instances", "{instance}", "Instances in one successful request.", advice: InstrumentBuckets.BatchItems);
    }

    public void Preprocessed(string model, int instances) =>
        _instances.Record(instances, new KeyValuePair<string, object?>("model", model));
}
