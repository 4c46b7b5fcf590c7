using System.Diagnostics;
using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Postprocessing.Diagnostics;

/// <summary>
/// The meter <c>MlPlatform.Postprocessing</c>: predictions per response. Requests and their duration are ASP.NET Core's
/// <c>http.server.request.duration</c>, tagged with the model.
/// </summary>
public sealed class PostprocessingMetrics
{
    public const string MeterName = "MlPlatform.Postprocessing";

    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly Histogram<int> _predictions;

    public PostprocessingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _predictions = meter.CreateHistogram<int>("mlplatform.postprocessing.predictions", "{prediction}", "Predictions (batch rows) in one response.", advice: InstrumentBuckets.BatchItems);
    }

    public void Predicted(string model, int rows) =>
        _predictions.Record(rows, new KeyValuePair<string, object?>("model", model));
}
