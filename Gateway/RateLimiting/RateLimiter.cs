using System.Globalization;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.KeyAuth;

namespace MlPlatform.Gateway.RateLimiting;

/// <summary>The decision on one request: refused or not, and the headers that tell the client where it stands.</summary>
internal readonly record struct RateLimitDecision(bool Allowed, bool Unavailable, string? ExceededWindow, long RetryAfterSeconds);

/// <summary>
/// Kong's rate-limiting plugin: identifies whose request it is (<c>limit_by</c>), counts it in every
/// configured window through the store, writes <c>X-RateLimit-*</c> and <c>RateLimit-*</c> headers, and
/// refuses it when any window is full (https://docs.konghq.com/hub/kong-inc/rate-limiting/).
/// </summary>
internal sealed class RateLimiter
{
    private readonly RateLimitingOptions _options;
    private readonly RateLimitWindow[] _windows;
    private readonly Dictionary<string, RateLimitWindow[]> _groupWindows = new(StringComparer.OrdinalIgnoreCase);
    private readonly IRateLimitStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RateLimiter> _logger;
    private long _nextWarning = long.MinValue;

    public RateLimiter(IOptions<RateLimitingOptions> options, IServiceProvider services, TimeProvider timeProvider, ILogger<RateLimiter> logger)
    {
        _options = options.Value;
        _windows = RateLimitWindows.From(_options);
        foreach (var (group, settings) in _options.RouteGroups)
        {
            if (settings.HasOwnWindows)
            {
                _groupWindows[group] = RateLimitWindows.From(settings);
            }
        }

        _store = _options.Policy == RateLimitPolicy.Redis
            ? services.GetRequiredService<RedisRateLimitStore>()
            : services.GetRequiredService<LocalRateLimitStore>();
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public async ValueTask<RateLimitDecision> CheckAsync(HttpContext context, string routeGroup)
    {
        var identifier = Identifier(context);
        var windows = _windows;
        if (_groupWindows.TryGetValue(routeGroup, out var own))
        {
            // A group with windows of its own is counted apart, as a route's own plugin is in Kong; its counter
            // also holds a different set of windows. Shared identifiers start with their limit_by, never a group,
            // so the two cannot meet in either store (the whole identifier is the Redis hash tag).
            windows = own;
            identifier = string.Concat(routeGroup, "/", identifier);
        }

        var decision = await RateLimitCounting.CountAsync(
            _store, identifier, windows, _timeProvider, context.Response.Headers, _options.ExposeWindowStart).ConfigureAwait(false);
        if (decision.Unavailable)
        {
            WarnUnavailable(_timeProvider.GetUtcNow().ToUnixTimeSeconds());
            // Kong's fault_tolerant: without counters, traffic goes on with no rate-limit headers.
            return decision with { Allowed = _options.FaultTolerant };
        }

        return decision;
    }

    private string Identifier(HttpContext context)
    {
        // As in Kong, an identifier that cannot be had falls back to the client's address. The consumer is the one
        // key-auth named in X-Consumer-ID; it drops one a client sent, so no client picks whose limit it uses.
        var headers = context.Request.Headers;
        switch (_options.LimitBy)
        {
            case RateLimitBy.Consumer when headers[UpstreamHeaders.ConsumerId] is { Count: > 0 } id && id[0] is { Length: > 0 } consumer:
                return "consumer:" + consumer;
            case RateLimitBy.Header when headers[_options.HeaderName!] is { Count: > 0 } value && value[0] is { Length: > 0 } header:
                return "header:" + header;
            case RateLimitBy.Path:
                return "path:" + context.Request.Path.Value;
            default:
                return "ip:" + context.Connection.RemoteIpAddress;
        }
    }

    private void WarnUnavailable(long now)
    {
        var due = Interlocked.Read(ref _nextWarning);
        if (now >= due && Interlocked.CompareExchange(ref _nextWarning, now + (long)_options.FaultWarningInterval.TotalSeconds, due) == due)
        {
            GatewayLog.RateLimitCountersUnavailable(_logger, _options.Policy.ToString().ToLowerInvariant(), _options.FaultTolerant);
        }
    }
}

/// <summary>
/// One request counted in its windows, and the headers that tell the client where it stands: Kong's
/// <c>X-RateLimit-Limit-{Window}</c> and <c>X-RateLimit-Remaining-{Window}</c> for each window, and <c>RateLimit-*</c>
/// for the window closest to its limit. Shared by the settings' rate limiting and a declarative configuration's.
/// </summary>
internal static class RateLimitCounting
{
    /// <summary>
    /// Counts the request under <paramref name="identifier"/>; writes the headers unless <paramref name="headers"/> is
    /// null (Kong's <c>hide_client_headers</c>). Unavailable, and not allowed, when the store cannot be reached: what
    /// then happens is the caller's <c>fault_tolerant</c>.
    /// </summary>
    public static async ValueTask<RateLimitDecision> CountAsync(
        IRateLimitStore store, string identifier, RateLimitWindow[] windows, TimeProvider timeProvider, IHeaderDictionary? headers, bool exposeWindowStart)
    {
        var measured = new RateLimitCount(windows, timeProvider);
        var allowed = await store.TryAcquireAsync(identifier, measured).ConfigureAwait(false);
        var (nowSeconds, starts, ends, counts, count) = (measured.Now, measured.Starts, measured.Ends, measured.Counts, windows.Length);
        if (allowed is null)
        {
            return new RateLimitDecision(false, Unavailable: true, null, 0);
        }

        var closest = 0;
        var closestRemaining = long.MaxValue;
        string? exceeded = null;
        long retryAfter = 0;
        for (var i = 0; i < count; i++)
        {
            var window = windows[i];
            var remaining = Math.Max(0, window.Limit - counts[i]);
            if (headers is not null)
            {
                headers[window.LimitHeader] = window.LimitText;
                headers[window.RemainingHeader] = remaining.ToString(CultureInfo.InvariantCulture);
                if (exposeWindowStart)
                {
                    headers[window.WindowStartHeader] = starts[i].ToString(CultureInfo.InvariantCulture);
                }
            }

            // Shortest window first, so a tie goes to the window that resets soonest, as in Kong.
            if (remaining < closestRemaining)
            {
                closest = i;
                closestRemaining = remaining;
            }

            if (allowed == false && counts[i] >= window.Limit)
            {
                // A request refused by several windows may come back when the last of them resets.
                var reset = ends[i] - nowSeconds;
                if (reset >= retryAfter)
                {
                    retryAfter = reset;
                    exceeded = window.LowerName;
                }
            }
        }

        if (headers is not null)
        {
            headers["RateLimit-Limit"] = windows[closest].LimitText;
            headers["RateLimit-Remaining"] = closestRemaining.ToString(CultureInfo.InvariantCulture);
            headers["RateLimit-Reset"] = Math.Max(1, ends[closest] - nowSeconds).ToString(CultureInfo.InvariantCulture);
        }

        return new RateLimitDecision(allowed == true, Unavailable: false, exceeded, Math.Max(1, retryAfter));
    }
}
