using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Kong;
using MlPlatform.Gateway.Routes;
using MlPlatform.Gateway.Timeouts;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Transforms;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// YARP's routes and clusters, built once at start-up from service discovery's configuration: one
/// cluster per backend service, one destination per replica, health-checked actively and passively.
/// The predict endpoint picks its replicas from the same clusters, so both see one health state.
/// With a gRPC port, also the gRPC route and its cluster, inference's grpc endpoint over HTTP/2. With a declarative
/// configuration, its routes and services replace the settings' routes (the predict endpoint keeps its clusters), and a
/// reload publishes them anew.
/// </summary>
internal sealed class GatewayProxyConfigProvider(
    IOptions<ProxyOptions> proxyOptions,
    IOptions<BackendServicesOptions> backendOptions,
    IOptions<RouteGroupTimeoutOptions> timeoutOptions,
    IOptions<GrpcOptions> grpcOptions,
    KongConfigStore kongStore,
    IStartupValidator startupValidator)
    : IProxyConfigProvider
{
    public const string HealthPath = "/health";

    /// <summary>Cluster metadata: how many attempts a request may make (a Kong service's retries, plus one).</summary>
    public const string MaxAttemptsMetadata = "mlplatform.max-attempts";

    private const string ActiveHealthPolicy = "ConsecutiveFailures";
    private const string PassiveHealthPolicy = "TransportFailureRate";

    private IProxyConfig? _config;

    public IProxyConfig GetConfig()
    {
        // A reload fired the token handed out with the last configuration: YARP asks again, and gets the new one.
        if (_config is { ChangeToken.HasChanged: true })
        {
            _config = null;
        }

        if (_config is null)
        {
            try
            {
                // YARP loads this while endpoints are mapped, before start-up validation, and starts probing every
                // replica at once: with any setting at fault the gateway will not start, so it gets nothing to probe.
                startupValidator.Validate();
                if (kongStore.IsEnabled)
                {
                    // Read before the configurations, so a reload after this read fires the token handed out with them.
                    var changed = kongStore.ChangeToken;
                    var published = kongStore.Published;
                    var settings = Build(proxyOptions.Value, backendOptions.Value, timeoutOptions.Value, grpcOptions.Value);
                    var (routes, clusters) = BuildKong(published, proxyOptions.Value);
                    // The settings' clusters stay for the predict pipeline, which picks its replicas from them; their routes go.
                    _config = new StaticProxyConfig([.. routes], [.. settings.Clusters.Where(cluster => cluster.ClusterId != GrpcRoute.ClusterId), .. clusters], changed, $"kong/{published[^1].Revision}");
                }
                else
                {
                    _config = Build(proxyOptions.Value, backendOptions.Value, timeoutOptions.Value, grpcOptions.Value);
                }
            }
            catch (Exception exception) when (exception is OptionsValidationException or AggregateException)
            {
                // No routes rather than a failure inside YARP's loader: validation on start reports every
                // problem, by key, before the gateway takes a single request.
                _config = new StaticProxyConfig([], [], NeverChanges, "invalid");
            }
        }

        return _config;
    }

    private static StaticProxyConfig Build(ProxyOptions options, BackendServicesOptions backends, RouteGroupTimeoutOptions timeouts, GrpcOptions grpc)
    {
        var routes = GatewayRoutes.Proxied.Select(route =>
        {
            var config = new RouteConfig
            {
                RouteId = route.RouteId,
                ClusterId = route.ClusterId,
                Match = new RouteMatch { Path = route.Prefix + "/{**rest}" },
                TimeoutPolicy = timeouts.PolicyFor(route.RouteId),
            };
            return route.KeepPrefix ? config : config.WithTransformPathRemovePrefix(route.Prefix);
        }).ToList();

        var clusters = BackendServices.All.Select(service => Cluster(
            service,
            (backends.Replicas.GetValueOrDefault(service) ?? [])
                .Select((replica, index) => (Id: DestinationId(service, index), replica.Uri, replica.Value))
                .Where(d => d.Uri is not null)
                .ToDictionary(d => d.Id, d => new DestinationConfig { Address = d.Value! }, StringComparer.OrdinalIgnoreCase),
            options,
            activeHealthChecks: true)).ToList();

        if (grpc.GrpcPort is not null)
        {
            routes.Add(new RouteConfig
            {
                RouteId = GatewayRoutes.Grpc,
                ClusterId = GrpcRoute.ClusterId,
                Match = new RouteMatch { Path = GrpcRoute.PathPattern },
                TimeoutPolicy = timeouts.PolicyFor(GatewayRoutes.Grpc),
            });

            // One destination, which service discovery resolves to every address of inference's grpc endpoint. The
            // probes stay with the REST cluster of the same replicas: their /health is on the REST port, and the gRPC
            // port is inference's to keep for gRPC alone. Transport failures still take an address out.
            var cluster = Cluster(
                GrpcRoute.ClusterId,
                new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase)
                {
                    [DestinationId(GrpcRoute.ClusterId, 0)] = new() { Address = GrpcRoute.InferenceAddress },
                },
                options,
                activeHealthChecks: false);
            clusters.Add(cluster with
            {
                // gRPC is HTTP/2 end to end; over http:// that is h2c with prior knowledge, never a downgrade to 1.1.
                HttpRequest = cluster.HttpRequest! with { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact },
            });
        }

        return new StaticProxyConfig(routes, clusters, NeverChanges, "start-up");
    }

    private static readonly IChangeToken NeverChanges = new CancellationChangeToken(CancellationToken.None);

    /// <summary>
    /// One YARP route for each protocol family a Kong service's routes serve, all with the same catch-all pattern (Kong's
    /// router picks the route, and so the service: <see cref="KongRouteMatcherPolicy"/>), and one cluster per Kong service, its one destination
    /// the service's address for service discovery to resolve. Kong checks no service's health unless told to: passive
    /// checks only, as YARP takes an address out after transport failures.
    /// </summary>
    private static (List<RouteConfig> Routes, List<ClusterConfig> Clusters) BuildKong(IReadOnlyList<KongConfiguration> configurations, ProxyOptions options)
    {
        var routes = new List<RouteConfig>();
        var clusters = new List<ClusterConfig>();
        foreach (var configuration in configurations)
        {
            foreach (var service in configuration.Services)
            {
                foreach (var (routeId, serves) in new[] { (service.HttpRouteId, service.ServesHttp), (service.GrpcRouteId, service.ServesGrpc) })
                {
                    if (serves && !service.IsPredict)
                    {
                        routes.Add(new RouteConfig { RouteId = routeId, ClusterId = service.ClusterId, Match = new RouteMatch { Path = "/{**kong-path}" } });
                    }
                }
            }

            foreach (var service in configuration.Services)
            {
                if (service.IsPredict)
                {
                    continue;
                }

                var entity = service.Entity;
                var cluster = Cluster(
                    service.ClusterId,
                    new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase)
                    {
                        [DestinationId(service.ClusterId, 0)] = new() { Address = service.DestinationAddress },
                    },
                    options,
                    activeHealthChecks: false);
                var metadata = new Dictionary<string, string>(cluster.Metadata!)
                {
                    [MaxAttemptsMetadata] = (entity.Retries + 1).ToString(CultureInfo.InvariantCulture),
                };
                clusters.Add(cluster with
                {
                    Metadata = metadata,
                    HttpRequest = cluster.HttpRequest! with
                    {
                        // Kong's read and write timeouts bound the time between two reads or writes, as YARP's activity timeout does.
                        ActivityTimeout = TimeSpan.FromMilliseconds(Math.Max(entity.ReadTimeoutMs, entity.WriteTimeoutMs)),
                        Version = service.IsGrpc ? HttpVersion.Version20 : null,
                        VersionPolicy = service.IsGrpc ? HttpVersionPolicy.RequestVersionExact : null,
                    },
                });
            }
        }

        return (routes, clusters);
    }

    private static ClusterConfig Cluster(string clusterId, Dictionary<string, DestinationConfig> destinations, ProxyOptions options, bool activeHealthChecks) => new()
    {
        ClusterId = clusterId,
        LoadBalancingPolicy = HopAwareLoadBalancingPolicy.PolicyName,
        Destinations = destinations,
        HealthCheck = new HealthCheckConfig
        {
            // When every replica looks unhealthy, trying them beats refusing outright: with one
            // Kubernetes Service address per service, "all unhealthy" is usually one failed probe.
            AvailableDestinationsPolicy = HealthCheckConstants.AvailableDestinations.HealthyOrPanic,
            Active = new ActiveHealthCheckConfig
            {
                Enabled = activeHealthChecks,
                Interval = options.HealthCheckInterval,
                Timeout = options.HealthCheckTimeout,
                Policy = ActiveHealthPolicy,
                Path = HealthPath,
            },
            Passive = new PassiveHealthCheckConfig
            {
                Enabled = true,
                Policy = PassiveHealthPolicy,
                ReactivationPeriod = options.ReactivationPeriod,
            },
        },
        HttpRequest = new ForwarderRequestConfig { ActivityTimeout = options.HopTimeout },
        Metadata = new Dictionary<string, string>
        {
            [ConsecutiveFailuresHealthPolicyOptions.ThresholdMetadataName] = options.HealthCheckConsecutiveFailures.ToString(CultureInfo.InvariantCulture),
            [TransportFailureRateHealthPolicyOptions.FailureRateLimitMetadataName] = options.TransportFailureRateLimit.ToString(CultureInfo.InvariantCulture),
        },
    };

    public static string DestinationId(string service, int index) => $"{service}/{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// A configuration as read: the settings' never change (replicas change with a restart, as every other setting
    /// does); a declarative configuration's change with each reload.
    /// </summary>
    private sealed class StaticProxyConfig(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, IChangeToken changeToken, string revisionId) : IProxyConfig
    {
        public string RevisionId => revisionId;

        public IReadOnlyList<RouteConfig> Routes => routes;

        public IReadOnlyList<ClusterConfig> Clusters => clusters;

        public IChangeToken ChangeToken => changeToken;
    }
}
