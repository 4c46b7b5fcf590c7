using System.Collections.Concurrent;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.KeyAuth;
using MlPlatform.Gateway.Kong.Plugins;

namespace MlPlatform.Gateway.Kong;

/// <summary>
/// A declarative configuration made ready to serve: its services as YARP clusters, its routes in Kong's order, its
/// credentials by key digest and one runner per plugin instance, built once per load and never changed afterwards.
/// A reload builds a new one beside it; each request keeps the one it was routed with until it is done.
/// </summary>
internal sealed class KongConfiguration
{
    /// <summary>YARP route and cluster ids of every configuration start with this, then the revision.</summary>
    public const string IdPrefix = "kong/";

    /// <summary>YARP route ids of a Kong service's gRPC half end with this.</summary>
    public const string GrpcRouteSuffix = "/grpc";

    public static bool IsKongId(string id) => id.StartsWith(IdPrefix, StringComparison.Ordinal);

    public static bool IsGrpcRouteId(string routeId) => IsKongId(routeId) && routeId.EndsWith(GrpcRouteSuffix, StringComparison.Ordinal);

    private readonly Dictionary<string, List<PluginEntity>> _consumerPlugins;
    private readonly Dictionary<PluginEntity, object> _runners;

    private KongConfiguration(
        long revision,
        DeclarativeConfig source,
        IReadOnlyList<KongService> services,
        IReadOnlyList<KongRoute> routes,
        IReadOnlyDictionary<KeyDigest, KongCredential> credentials,
        Dictionary<string, List<PluginEntity>> consumerPlugins,
        Dictionary<PluginEntity, object> runners)
    {
        Revision = revision;
        Source = source;
        Services = services;
        Routes = routes;
        Credentials = credentials;
        _consumerPlugins = consumerPlugins;
        _runners = runners;
        Router = new KongRouter(routes);
    }

    public long Revision { get; }

    public DeclarativeConfig Source { get; }

    public IReadOnlyList<KongService> Services { get; }

    public IReadOnlyList<KongRoute> Routes { get; }

    public KongRouter Router { get; }

    /// <summary>Every keyauth credential of every consumer, by the digest of its key.</summary>
    public IReadOnlyDictionary<KeyDigest, KongCredential> Credentials { get; }

    /// <summary>
    /// Builds a configuration from a parsed file. The parser has checked the file; what is left are references only
    /// the runtime knows of (key-auth's anonymous consumer), each a problem with its path.
    /// </summary>
    public static (KongConfiguration? Configuration, IReadOnlyList<ConfigProblem> Problems) Build(long revision, DeclarativeConfig source, KongPluginServices pluginServices)
    {
        var problems = new List<ConfigProblem>();
        var services = new List<KongService>(source.Services.Count);
        var servicesByKey = new Dictionary<string, KongService>(StringComparer.Ordinal);
        foreach (var service in source.Services)
        {
            var built = new KongService(service, $"{IdPrefix}{revision}/service/{services.Count}");
            services.Add(built);
            servicesByKey[service.Key] = built;
        }

        var routes = new List<KongRoute>(source.Routes.Count);
        foreach (var route in source.Routes)
        {
            var service = route.ServiceKey is { } key ? servicesByKey.GetValueOrDefault(key) : null;
            var built = new KongRoute(route, service);
            routes.Add(built);
            if (service is not null)
            {
                service.ServesHttp |= built.ServesHttp;
                service.ServesGrpc |= built.ServesGrpc;
            }
        }

        var consumersByName = new Dictionary<string, ConsumerEntity>(StringComparer.Ordinal);
        var credentials = new Dictionary<KeyDigest, KongCredential>();
        foreach (var consumer in source.Consumers)
        {
            consumersByName.TryAdd(consumer.Key, consumer);
            if (consumer.Username is { } username)
            {
                consumersByName.TryAdd(username, consumer);
            }

            foreach (var credential in consumer.KeyAuthCredentials)
            {
                var digest = KeyDigest.FromHex(credential.KeyHash);
                credentials.TryAdd(digest, new KongCredential(consumer, digest.ShortHex()));
            }
        }

        var consumerPlugins = new Dictionary<string, List<PluginEntity>>(StringComparer.Ordinal);
        var runners = new Dictionary<PluginEntity, object>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < source.Plugins.Count; i++)
        {
            var plugin = source.Plugins[i];
            if (!plugin.Enabled)
            {
                continue;
            }

            if (plugin.ConsumerKey is { } consumerKey)
            {
                if (!consumerPlugins.TryGetValue(consumerKey, out var list))
                {
                    consumerPlugins[consumerKey] = list = [];
                }

                list.Add(plugin);
            }

            object? runner = plugin.Config switch
            {
                KeyAuthConfig keyAuth => KongKeyAuth.Create(keyAuth, credentials, consumersByName, $"plugins[{i}]", problems),
                RateLimitingConfig rateLimiting => new KongRateLimit(plugin, rateLimiting, pluginServices),
                RequestTransformerConfig transformer => new KongRequestTransformer(transformer),
                CorsConfig cors => new KongCors(cors),
                RequestSizeLimitingConfig sizeLimit => new KongRequestSizeLimit(sizeLimit),
                _ => null,
            };
            if (runner is not null)
            {
                runners[plugin] = runner;
            }
        }

        return problems.Count > 0
            ? (null, problems)
            : (new KongConfiguration(revision, source, services, routes, credentials, consumerPlugins, runners), problems);
    }

    /// <summary>
    /// The plugins a request runs: those of its route, service and consumer, and the global ones, each plugin's most
    /// specific instance (<see cref="PluginPrecedence"/>), for the protocol it came with. Consumers without plugins of
    /// their own share the route's set; the others' sets are made on first use and kept.
    /// </summary>
    public PluginSet PluginsFor(KongRoute route, bool grpc, ConsumerEntity? consumer)
    {
        var anonymous = grpc ? route.GrpcPlugins : route.HttpPlugins;
        anonymous ??= route.SetAnonymous(grpc, Resolve(route, grpc, null));
        if (consumer is null || !_consumerPlugins.ContainsKey(consumer.Key))
        {
            return anonymous;
        }

        return route.ConsumerPlugins.GetOrAdd((grpc, consumer.Key), static (key, state) => state.Self.Resolve(state.Route, key.Grpc, state.Consumer), (Self: this, Route: route, Consumer: consumer));
    }

    private PluginSet Resolve(KongRoute route, bool grpc, ConsumerEntity? consumer)
    {
        var protocol = grpc ? "grpc" : "http";
        var best = new Dictionary<string, (PluginEntity Plugin, int Rank)>(StringComparer.Ordinal);
        Consider(Source.Plugins, consumerOnly: false);
        if (consumer is not null && _consumerPlugins.TryGetValue(consumer.Key, out var own))
        {
            Consider(own, consumerOnly: true);
        }

        var set = new PluginSet();
        foreach (var (_, (plugin, _)) in best)
        {
            set.Add(_runners.GetValueOrDefault(plugin));
        }

        return set;

        void Consider(IReadOnlyList<PluginEntity> plugins, bool consumerOnly)
        {
            foreach (var plugin in plugins)
            {
                if (!plugin.Enabled
                    || (!consumerOnly && plugin.ConsumerKey is not null)
                    || (plugin.ServiceKey is not null && plugin.ServiceKey != route.Service?.Entity.Key)
                    || (plugin.RouteKey is not null && plugin.RouteKey != route.Entity.Key)
                    || !Contains(plugin.Protocols, protocol))
                {
                    continue;
                }

                var rank = PluginPrecedence.Rank(plugin);
                if (!best.TryGetValue(plugin.Name, out var current) || rank < current.Rank)
                {
                    best[plugin.Name] = (plugin, rank);
                }
            }
        }
    }

    // A plugin for http runs on https too, and one for grpc on grpcs: this gateway serves both of each pair on one port.
    private static bool Contains(IReadOnlyList<string> protocols, string family)
    {
        foreach (var protocol in protocols)
        {
            if (protocol.StartsWith(family, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// A Kong Service as a YARP cluster, with one YARP route for each protocol family its routes serve: Kong's router picks
/// the route, and all the YARP route does is forward to the service, so the routes of one service share it, and routing
/// has as few endpoints to choose from as there are services. A service whose host is <c>predict</c> is the gateway's
/// own predict pipeline.
/// </summary>
internal sealed class KongService(ServiceEntity entity, string clusterId)
{
    public const string PredictHost = "predict";

    public ServiceEntity Entity { get; } = entity;

    public string ClusterId { get; } = clusterId;

    public string HttpRouteId { get; } = clusterId + "/http";

    public string GrpcRouteId { get; } = clusterId + KongConfiguration.GrpcRouteSuffix;

    /// <summary>Whether any route sends it requests from the public port; set while the configuration is built.</summary>
    public bool ServesHttp { get; set; }

    /// <summary>Whether any route sends it calls from the gRPC port.</summary>
    public bool ServesGrpc { get; set; }

    public bool IsPredict { get; } = string.Equals(entity.Host, PredictHost, StringComparison.OrdinalIgnoreCase);

    public bool IsGrpc { get; } = entity.Protocol is "grpc" or "grpcs";

    /// <summary>
    /// Where YARP sends the service's requests, for service discovery to resolve: <c>http://inference</c> is every
    /// replica of inference's http endpoint, locally and in Kubernetes; <c>grpc://inference</c> its grpc endpoint.
    /// A port of its own, other than the protocol's default, is kept and bypasses the named endpoint.
    /// </summary>
    public string DestinationAddress { get; } = Address(entity);

    private static string Address(ServiceEntity entity)
    {
        var tls = entity.Protocol is "https" or "grpcs";
        var defaultPort = entity.Port == (tls ? 443 : 80);
        var scheme = tls ? "https" : "http";
        if (entity.Protocol is "grpc" or "grpcs")
        {
            return defaultPort ? $"{scheme}://_grpc.{entity.Host}" : $"{scheme}://{entity.Host}:{entity.Port}";
        }

        return defaultPort ? $"{scheme}://{entity.Host}" : $"{scheme}://{entity.Host}:{entity.Port}";
    }
}

/// <summary>A Kong Route with the plugin sets made for it.</summary>
internal sealed class KongRoute(RouteEntity entity, KongService? service)
{
    public RouteEntity Entity { get; } = entity;

    public KongService? Service { get; } = service;

    public bool ServesHttp { get; } = entity.Protocols.Any(p => p is "http" or "https");

    public bool ServesGrpc { get; } = entity.Protocols.Any(p => p is "grpc" or "grpcs");

    public PluginSet? HttpPlugins { get; private set; }

    public PluginSet? GrpcPlugins { get; private set; }

    public ConcurrentDictionary<(bool Grpc, string Consumer), PluginSet> ConsumerPlugins { get; } = new();

    public PluginSet SetAnonymous(bool grpc, PluginSet set)
    {
        // Two requests may make it at once; both sets are equal, and the one kept is as good as the other.
        if (grpc)
        {
            GrpcPlugins = set;
        }
        else
        {
            HttpPlugins = set;
        }

        return set;
    }
}

/// <summary>A consumer's keyauth credential: the consumer, and the short digest rate limiting by credential counts by.</summary>
internal sealed record KongCredential(ConsumerEntity Consumer, string Id);

/// <summary>The plugins one request runs, in Kong's order of priority: cors, key-auth, request-size-limiting, rate-limiting, request-transformer.</summary>
internal sealed class PluginSet
{
    public KongCors? Cors { get; set; }

    public KongKeyAuth? KeyAuth { get; set; }

    public KongRequestSizeLimit? SizeLimit { get; set; }

    public KongRateLimit? RateLimit { get; set; }

    public KongRequestTransformer? Transformer { get; set; }

    /// <summary>Puts a plugin's runner in its place; a plugin the gateway has no runner for is not there.</summary>
    public void Add(object? runner)
    {
        switch (runner)
        {
            case KongKeyAuth keyAuth:
                KeyAuth = keyAuth;
                break;
            case KongRateLimit rateLimit:
                RateLimit = rateLimit;
                break;
            case KongRequestTransformer transformer:
                Transformer = transformer;
                break;
            case KongCors cors:
                Cors = cors;
                break;
            case KongRequestSizeLimit sizeLimit:
                SizeLimit = sizeLimit;
                break;
        }
    }
}
