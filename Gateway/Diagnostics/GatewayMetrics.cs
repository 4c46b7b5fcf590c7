using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Gateway.Diagnostics;

/// <summary>
/// The meter <c>MlPlatform.Gateway</c>: predictions by model and outcome, their duration, each hop's
/// duration, retries on another replica, and requests refused before forwarding.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "MlPlatform.Gateway";

    /// <summary>The model tag of a model inference has not served yet, so clients cannot grow the series without bound.</summary>
    public const string UnknownModel = "unknown";

    // Models are a small, fixed repository; past this many the tag stops growing whatever happens.
    private const int MaxModelTags = 256;

    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly ConcurrentDictionary<string, byte> _knownModels = new(StringComparer.Ordinal);
    private readonly Counter<long> _predictions;
    private readonly Histogram<double> _predictionDuration;
    private readonly Histogram<double> _hopDuration;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _rateLimitRejections;
    private readonly Histogram<double> _upstreamDuration;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _predictions = meter.CreateCounter<long>("mlplatform.gateway.predict.requests", "{request}", "Predict requests by model and outcome.");
        _predictionDuration = meter.CreateHistogram<double>("mlplatform.gateway.predict.duration", "s", "Time from a predict request's arrival to its response.", advice: InstrumentBuckets.Seconds);
        _hopDuration = meter.CreateHistogram<double>("mlplatform.gateway.hop.duration", "s", "Time of one hop of a prediction, every replica tried included.", advice: InstrumentBuckets.Seconds);
        _retries = meter.CreateCounter<long>("mlplatform.gateway.retries", "{retry}", "Requests sent again to another replica, by service, route and reason.");
        _refused = meter.CreateCounter<long>("mlplatform.gateway.refused", "{request}", "Requests the gateway answered itself instead of forwarding, by route and reason.");
        _authFailures = meter.CreateCounter<long>("mlplatform.gateway.auth.failures", "{request}", "Requests refused with 401, by route group and reason (missing, invalid, conflicting).");
        _rateLimitRejections = meter.CreateCounter<long>("mlplatform.gateway.ratelimit.rejections", "{request}", "Requests refused with 429, by route group and the window that was full.");
        _upstreamDuration = meter.CreateHistogram<double>("mlplatform.gateway.upstream.duration", "s", "Time one upstream call took, by cluster (service) and status code class.", advice: InstrumentBuckets.Seconds);
    }

    /// <summary>Lets <paramref name="model"/> appear as a tag; called once inference has served it.</summary>
    public void ModelServed(string model)
    {
        if (_knownModels.Count < MaxModelTags)
        {
            _knownModels.TryAdd(model, 0);
        }
    }

    public void PredictCompleted(string model, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "model", _knownModels.ContainsKey(model) ? model : UnknownModel }, { "outcome", outcome } };
        _predictions.Add(1, tags);
        _predictionDuration.Record(duration.TotalSeconds, tags);
    }

    public void HopCompleted(string hop, string outcome, TimeSpan duration) =>
        _hopDuration.Record(duration.TotalSeconds, new TagList { { "hop", hop }, { "outcome", outcome } });

    public void Retried(string service, string route, string reason) =>
        _retries.Add(1, new TagList { { "service", service }, { "route", route }, { "reason", reason } });

    public void Refused(string route, string reason) =>
        _refused.Add(1, new TagList { { "route", route }, { "reason", reason } });

    public void AuthFailed(string routeGroup, string reason) =>
        _authFailures.Add(1, new TagList { { "route_group", routeGroup }, { "reason", reason } });

    public void RateLimitRejected(string routeGroup, string window) =>
        _rateLimitRejections.Add(1, new TagList { { "route_group", routeGroup }, { "window", window } });

    public void UpstreamCompleted(string cluster, int status, TimeSpan duration) =>
        _upstreamDuration.Record(duration.TotalSeconds, new TagList { { "cluster", cluster }, { "status_class", StatusClass(status) } });

    private static string StatusClass(int status) => status switch
    {
        >= 500 => "5xx",
        >= 400 => "4xx",
        >= 300 => "3xx",
        >= 200 => "2xx",
        _ => "none",
    };
}
