using System.Diagnostics;
using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Postprocessing.Diagnostics;

/// <summary>The meter <c>MlPlatform.Postprocessing</c>: requests by model and outcome, and the time each takes.</summary>
public sealed class PostprocessingMetrics
{
    public const string MeterName = "MlPlatform.Postprocessing";

    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<int> _predictions;

    public PostprocessingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("mlplatform.postprocessing.requests", "{request}", "Postprocessing requests by model and outcome.");
        _requestDuration = meter.CreateHistogram<double>(
            "mlplatform.postprocessing.request.duration", "s", "Time from a request's arrival to its response, the config lookup included.", advice: InstrumentBuckets.Seconds);
        _predictions = meter.CreateHistogram<int>("mlplatform.postprocessing.predictions", "{prediction}", "Predictions (batch rows) in one response.", advice: InstrumentBuckets.BatchItems);
    }

    /// <param name="model">The model's name, or <c>unknown</c> when the request never reached a known model, to bound the series.</param>
    /// <param name="outcome"><c>success</c>, <c>bad_request</c>, <c>not_found</c>, <c>too_large</c>, <c>unsupported_media_type</c>, <c>upstream_error</c> or <c>aborted</c>.</param>
    public void RequestCompleted(string model, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "model", model }, { "outcome", outcome } };
        _requests.Add(1, tags);
        _requestDuration.Record(duration.TotalSeconds, tags);
    }

    public void Predicted(string model, int rows) =>
        _predictions.Record(rows, new KeyValuePair<string, object?>("model", model));
}
