using System.Text.Json;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.RateLimiting;

namespace MlPlatform.Gateway.Kong;

/// <summary>What the rate-limiting plugins of every configuration share: the counters and the clock.</summary>
internal sealed class KongPluginServices(
    LocalRateLimitStore localStore, KongRedisConnections redis, TimeProvider timeProvider, IOptions<RateLimitingOptions> rateLimiting, ILogger<KongRateLimit> logger)
{
    /// <summary><c>Gateway:RateLimiting:ExposeWindowStart</c>, which is not Kong's: the window a request was counted in, for audits and tests.</summary>
    public bool ExposeWindowStart { get; } = rateLimiting.Value.ExposeWindowStart;

    public LocalRateLimitStore LocalStore { get; } = localStore;

    public KongRedisConnections Redis { get; } = redis;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public ILogger<KongRateLimit> Logger { get; } = logger;
}

/// <summary>
/// One rate-limiting plugin instance (kong/plugins/rate-limiting/handler.lua). Its counters are named by the plugin's
/// scope (service, route, consumer) and the periods it counts, as Kong names them by the plugin's service and route,
/// never by the configuration's revision: a reload that keeps the plugin keeps its counters, also with a changed limit.
/// </summary>
internal sealed class KongRateLimit
{
    private static readonly (RateLimitPeriod Period, Func<RateLimitingConfig, double?> Limit)[] Periods =
    [
        (RateLimitPeriod.Second, config => config.Second),
        (RateLimitPeriod.Minute, config => config.Minute),
        (RateLimitPeriod.Hour, config => config.Hour),
        (RateLimitPeriod.Day, config => config.Day),
        (RateLimitPeriod.Month, config => config.Month),
        (RateLimitPeriod.Year, config => config.Year),
    ];

    private readonly RateLimitWindow[] _windows;
    private readonly IRateLimitStore _store;
    private readonly string _scope;
    private readonly KongPluginServices _services;
    private long _nextWarning = long.MinValue;

    public KongRateLimit(PluginEntity plugin, RateLimitingConfig config, KongPluginServices services)
    {
        Config = config;
        _services = services;
        var windows = new List<RateLimitWindow>(Periods.Length);
        foreach (var (period, limit) in Periods)
        {
            // Kong compares a count with a limit that may have a fraction: 5.5 a second lets the sixth request in.
            if (limit(config) is { } value)
            {
                windows.Add(new RateLimitWindow(period, (long)Math.Ceiling(value)));
            }
        }

        _windows = [.. windows];
        _store = config.Policy == "redis" ? services.Redis.StoreFor(config.Redis) : services.LocalStore;
        _scope = string.Join('|', "kong", plugin.ServiceKey, plugin.RouteKey, plugin.ConsumerKey, string.Join(',', windows.Select(w => w.LowerName)));
        RefusedBody = JsonSerializer.SerializeToUtf8Bytes(new { message = config.ErrorMessage });
        StatusCode = (int)config.ErrorCode;
    }

    public RateLimitingConfig Config { get; }

    /// <summary>Kong's error_code, 429 unless configured.</summary>
    public int StatusCode { get; }

    /// <summary>Kong's error_message as its JSON body, made once.</summary>
    public byte[] RefusedBody { get; }

    /// <summary>Counts the request as the plugin's limit_by says; unavailable counters let it through when fault tolerant.</summary>
    public async ValueTask<RateLimitDecision> CheckAsync(HttpContext context, KongRequestFeature feature, KongCredential? credential, Declarative.ConsumerEntity? consumer)
    {
        var (kind, value) = Identifier(context, feature, credential, consumer);
        var identifier = string.Concat(_scope, kind, value);
        var decision = await RateLimitCounting.CountAsync(
            _store, identifier, _windows, _services.TimeProvider, Config.HideClientHeaders ? null : context.Response.Headers, _services.ExposeWindowStart).ConfigureAwait(false);
        if (decision.Unavailable)
        {
            WarnUnavailable();
            return decision with { Allowed = Config.FaultTolerant };
        }

        return decision;
    }

    /// <summary>Kong's get_identifier: what limit_by names, else the client's address; two parts, so the counter's name is one string made once.</summary>
    private (string Kind, string Value) Identifier(HttpContext context, KongRequestFeature feature, KongCredential? credential, Declarative.ConsumerEntity? consumer)
    {
        switch (Config.LimitBy)
        {
            case "consumer" when consumer is not null:
                return ("|consumer:", consumer.Key);
            case "credential" when credential is not null:
                return ("|credential:", credential.Id);
            case "service" when feature.Route?.Service is { } service:
                return ("|service:", service.Entity.Key);
            case "header" when context.Request.Headers[Config.HeaderName!] is { Count: > 0 } value && value[0] is { Length: > 0 } header:
                return ("|header:", header);
            case "path" when string.Equals(context.Request.Path.Value, Config.Path, StringComparison.Ordinal):
                return ("|path:", Config.Path!);
            default:
                return ("|ip:", context.Connection.RemoteIpAddress?.ToString() ?? "");
        }
    }

    private void WarnUnavailable()
    {
        var now = _services.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        var due = Interlocked.Read(ref _nextWarning);
        if (now >= due && Interlocked.CompareExchange(ref _nextWarning, now + 10, due) == due)
        {
            GatewayLog.RateLimitCountersUnavailable(_services.Logger, Config.Policy, Config.FaultTolerant);
        }
    }
}
