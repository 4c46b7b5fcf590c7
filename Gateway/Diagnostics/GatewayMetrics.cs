using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Gateway.Diagnostics;

/// <summary>
/// The meter <c>MlPlatform.Gateway</c>: each hop's duration, retries on another replica, requests refused before
/// forwarding, and upstream calls. Requests themselves, predict by model too, are ASP.NET Core's
/// <c>http.server.request.duration</c>.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "MlPlatform.Gateway";

    // Models are a small, fixed repository; past this many the tag stops growing whatever happens.
    private const int MaxModelTags = 256;

    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly ConcurrentDictionary<string, byte> _knownModels = new(StringComparer.Ordinal);
    private readonly Histogram<double> _hopDuration;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _rateLimitRejections;
    private readonly Histogram<double> _upstreamDuration;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
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

    /// <summary>The model tag of a request for <paramref name="model"/>: its name once inference has served it, else <see cref="ModelMetricTag.Unknown"/>, so clients cannot grow the series without bound.</summary>
    public string ModelTag(string model) => _knownModels.ContainsKey(model) ? model : ModelMetricTag.Unknown;

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
