using System.Globalization;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using StackExchange.Redis;

namespace MlPlatform.Gateway.RateLimiting;

/// <summary>
/// The connection to the Redis that holds shared counters (<c>ConnectionStrings:redis</c>), made before the
/// gateway takes requests and kept up by StackExchange.Redis, which reconnects by itself.
/// </summary>
internal sealed class RedisConnection(IOptions<RateLimitingOptions> options, ILogger<RedisConnection> logger) : IRedisDatabaseSource, IHostedService, IAsyncDisposable
{
    private ConnectionMultiplexer? _multiplexer;

    public IDatabase? Database => _multiplexer?.GetDatabase();

    /// <summary>Parses a connection string as StackExchange.Redis reads it; null with the reason when it cannot.</summary>
    public static ConfigurationOptions? TryParse(string connectionString, out string? error)
    {
        try
        {
            var parsed = ConfigurationOptions.Parse(connectionString);
            if (parsed.EndPoints.Count == 0)
            {
                error = "it names no host";
                return null;
            }

            error = null;
            return parsed;
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or NotSupportedException)
        {
            error = exception.Message;
            return null;
        }
    }

    /// <summary>
    /// A gateway must start, and keep serving, while Redis is away: retry in the background, and fail commands at
    /// once instead of queueing them behind a dead connection (fault_tolerant decides what then).
    /// </summary>
    public static ConfigurationOptions ForCounters(ConfigurationOptions configuration)
    {
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 2000);
        configuration.AsyncTimeout = Math.Min(configuration.AsyncTimeout, 1000);
        return configuration;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Policy != RateLimitPolicy.Redis)
        {
            return;
        }

        var configuration = TryParse(settings.RedisConnectionString!, out _)!;
        _multiplexer = await ConnectionMultiplexer.ConnectAsync(ForCounters(configuration)).ConfigureAwait(false);
        if (!_multiplexer.IsConnected)
        {
            GatewayLog.RedisNotConnected(logger, RateLimitingOptions.ConnectionStringKey);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is not null)
        {
            await _multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>The Redis database counters are kept in; null while it cannot be reached.</summary>
internal interface IRedisDatabaseSource
{
    IDatabase? Database { get; }
}

/// <summary>
/// Counters in Redis, shared by every gateway replica. One Lua script per request reads every window's count,
/// and increments them all (each with its expiry) only when every window has room, so the check and the
/// increment are one atomic step across replicas; a refused request is not counted, as in Kong.
/// </summary>
internal sealed class RedisRateLimitStore(IRedisDatabaseSource connection) : IRateLimitStore
{
    private const string KeyPrefix = "mlplatform:ratelimit:";

    // KEYS: one per window. ARGV: the limits, then each key's time to live in seconds.
    // Returns {allowed, count1, count2, ...}.
    private const string Script = """
        local n = #KEYS
        local result = {1}
        for i = 1, n do
          local count = tonumber(redis.call('GET', KEYS[i]) or '0')
          result[i + 1] = count
          if count >= tonumber(ARGV[i]) then result[1] = 0 end
        end
        if result[1] == 1 then
          for i = 1, n do
            result[i + 1] = redis.call('INCR', KEYS[i])
            redis.call('EXPIRE', KEYS[i], ARGV[n + i])
          end
        end
        return result
        """;

    public async ValueTask<bool?> TryAcquireAsync(string identifier, RateLimitCount count)
    {
        // Each window's key names its start, so requests of two replicas whose clocks straddle a boundary count in
        // the windows they read; no key is ever reset, it expires.
        count.Measure();
        var (windows, starts, ends, now, counts) = (count.Windows, count.Starts, count.Ends, count.Now, count.Counts);
        if (connection.Database is not { } database)
        {
            return null;
        }

        var keys = new RedisKey[windows.Length];
        var values = new RedisValue[windows.Length * 2];
        for (var i = 0; i < windows.Length; i++)
        {
            // The identifier in braces is a Redis Cluster hash tag: every window of one identifier lands on one
            // node, which a multi-key script needs. A route group with windows of its own is part of the identifier.
            keys[i] = string.Concat(KeyPrefix, "{", identifier, "}:", windows[i].LowerName, ":", starts[i].ToString(CultureInfo.InvariantCulture));
            values[i] = windows[i].Limit;
            // A second past the window's end, so a key never outlives its window by more than that.
            values[windows.Length + i] = Math.Max(1, ends[i] - now + 1);
        }

        RedisResult result;
        try
        {
            result = await database.ScriptEvaluateAsync(Script, keys, values).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException or ObjectDisposedException)
        {
            return null;
        }

        var items = (RedisResult[])result!;
        for (var i = 0; i < windows.Length; i++)
        {
            counts[i] = Math.Max(0, (long)items[i + 1]);
        }

        return (long)items[0] == 1;
    }
}
