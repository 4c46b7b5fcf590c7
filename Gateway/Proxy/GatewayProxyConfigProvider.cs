using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
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
/// </summary>
internal sealed class GatewayProxyConfigProvider(
    IOptions<ProxyOptions> proxyOptions,
    IOptions<BackendServicesOptions> backendOptions,
    IOptions<RouteGroupTimeoutOptions> timeoutOptions,
    IStartupValidator startupValidator)
    : IProxyConfigProvider
{
    public const string HealthPath = "/health";
    private const string ActiveHealthPolicy = "ConsecutiveFailures";
    private const string PassiveHealthPolicy = "TransportFailureRate";

    private IProxyConfig? _config;

    public IProxyConfig GetConfig()
    {
        if (_config is null)
        {
            try
            {
                // YARP loads this while endpoints are mapped, before start-up validation, and starts probing every
                // replica at once: with any setting at fault the gateway will not start, so it gets nothing to probe.
                startupValidator.Validate();
                _config = Build(proxyOptions.Value, backendOptions.Value, timeoutOptions.Value);
            }
            catch (Exception exception) when (exception is OptionsValidationException or AggregateException)
            {
                // No routes rather than a failure inside YARP's loader: validation on start reports every
                // problem, by key, before the gateway takes a single request.
                _config = new StaticProxyConfig([], []);
            }
        }

        return _config;
    }

    private static StaticProxyConfig Build(ProxyOptions options, BackendServicesOptions backends, RouteGroupTimeoutOptions timeouts)
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
        }).ToArray();

        var clusters = BackendServices.All.Select(service => new ClusterConfig
        {
            ClusterId = service,
            LoadBalancingPolicy = HopAwareLoadBalancingPolicy.PolicyName,
            Destinations = (backends.Replicas.GetValueOrDefault(service) ?? [])
                .Select((replica, index) => (Id: DestinationId(service, index), replica.Uri, replica.Value))
                .Where(d => d.Uri is not null)
                .Select(d => (d.Id, Config: new DestinationConfig { Address = d.Value! }))
                .ToDictionary(d => d.Id, d => d.Config, StringComparer.OrdinalIgnoreCase),
            HealthCheck = new HealthCheckConfig
            {
                // When every replica looks unhealthy, trying them beats refusing outright: with one
                // Kubernetes Service address per service, "all unhealthy" is usually one failed probe.
                AvailableDestinationsPolicy = HealthCheckConstants.AvailableDestinations.HealthyOrPanic,
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = true,
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
        }).ToArray();

        return new StaticProxyConfig(routes, clusters);
    }

    public static string DestinationId(string service, int index) => $"{service}/{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>A configuration read once; replicas change with a restart, as every other setting does.</summary>
    private sealed class StaticProxyConfig(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters) : IProxyConfig
    {
        public string RevisionId => "start-up";

        public IReadOnlyList<RouteConfig> Routes => routes;

        public IReadOnlyList<ClusterConfig> Clusters => clusters;

        public IChangeToken ChangeToken { get; } = new CancellationChangeToken(CancellationToken.None);
    }
}
