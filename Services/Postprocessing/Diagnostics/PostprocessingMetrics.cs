using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MlPlatform.Postprocessing.Diagnostics;

/// <summary>The meter <c>MlPlatform.Postprocessing</c>: requests by model and outcome, and the time each takes.</summary>
public sealed class PostprocessingMetrics
{
    public const string MeterName = "MlPlatform.Postprocessing";

    public static readonly ActivitySource ActivitySource = new(MeterName);

    // Postprocessing takes well under a millisecond; the SDK's default buckets (0, 5, 10 ... seconds) would put everything in the first.
    private static readonly InstrumentAdvice<double> DurationBuckets = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private static readonly InstrumentAdvice<int> RowBuckets = new() { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] };

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<int> _predictions;

    public PostprocessingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("mlplatform.postprocessing.requests", "{request}", "Postprocessing requests by model and outcome.");
        _requestDuration = meter.CreateHistogram<double>(
            "mlplatform.postprocessing.request.duration", "s", "Time from a request's arrival to its response, the config lookup included.", advice: DurationBuckets);
        _predictions = meter.CreateHistogram<int>("mlplatform.postprocessing.predictions", "{prediction}", "Predictions (batch rows) in one response.", advice: RowBuckets);
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
