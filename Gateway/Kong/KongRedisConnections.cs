using System.Collections.Concurrent;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.RateLimiting;
using StackExchange.Redis;

namespace MlPlatform.Gateway.Kong;

/// <summary>
/// The Redis servers rate-limiting plugins with policy <c>redis</c> name, one connection per distinct redis record,
/// kept across reloads: a configuration that changes a limit but not its Redis keeps its connection, and its counters.
/// </summary>
internal sealed class KongRedisConnections : IAsyncDisposable
{
    private readonly ConcurrentDictionary<RedisConfig, Connection> _connections = new();

    public IRateLimitStore StoreFor(RedisConfig redis) => _connections.GetOrAdd(redis, static config => new Connection(config)).Store;

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class Connection : IRedisDatabaseSource, IAsyncDisposable
    {
        private readonly Task<ConnectionMultiplexer> _connecting;

        public Connection(RedisConfig redis)
        {
            var options = new ConfigurationOptions
            {
                EndPoints = { { redis.Host ?? "localhost", redis.Port } },
                User = redis.Username,
                Password = redis.Password,
                DefaultDatabase = redis.Database,
                Ssl = redis.Ssl,
                SslHost = redis.ServerName,
                ConnectTimeout = redis.TimeoutMs,
                AsyncTimeout = redis.TimeoutMs,
                SyncTimeout = redis.TimeoutMs,
            };
            if (redis.Ssl && !redis.SslVerify)
            {
                // Kong's ssl_verify false: the server's certificate is not checked, as its operator asked.
                options.CertificateValidation += static (_, _, _, _) => true;
            }

            // Connects in the background: a configuration is built while requests wait for it, and until the server
            // answers, the plugin's fault_tolerant decides, as when a connected server goes away.
            _connecting = ConnectionMultiplexer.ConnectAsync(RedisConnection.ForCounters(options));
            Store = new RedisRateLimitStore(this);
        }

        public IRateLimitStore Store { get; }

        public IDatabase? Database => _connecting.IsCompletedSuccessfully ? _connecting.Result.GetDatabase() : null;

        public async ValueTask DisposeAsync()
        {
            if (_connecting.IsCompletedSuccessfully)
            {
                await _connecting.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
