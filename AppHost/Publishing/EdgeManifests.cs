using k8s.Models;
using MlPlatform.AppHost.Annotations;

namespace MlPlatform.AppHost.Publishing;

/// <summary>The namespace, the Ingress to the gateway, and the NetworkPolicies that keep every other pod private.</summary>
internal sealed class EdgeManifests(PublishOptions options)
{
    public V1Namespace Namespace() => new()
    {
        ApiVersion = "v1",
        Kind = "Namespace",
        Metadata = new V1ObjectMeta
        {
            Name = options.Namespace,
            Labels = new Dictionary<string, string>
            {
                [Labels.PartOf] = Labels.Application,
                // Every pod meets the restricted standard; the cluster refuses one that does not.
                ["pod-security.kubernetes.io/enforce"] = "restricted",
            },
        },
    };

    /// <summary>The REST routes: every path to the gateway's HTTP port, never its management port.</summary>
    public V1Ingress Ingress(PublishedService gateway, long maxRequestBodyBytes) =>
        Ingress(gateway, maxRequestBodyBytes, gateway.Name, "/", ServiceManifests.HttpPort);

    private V1Ingress Ingress(PublishedService gateway, long maxRequestBodyBytes, string name, string path, int port)
    {
        var annotations = new Dictionary<string, string>();
        if (options.IngressClass == "nginx")
        {
            // ingress-nginx refuses bodies over 1 MiB by default; the gateway's own limit must decide.
            annotations["nginx.ingress.kubernetes.io/proxy-body-size"] = $"{(maxRequestBodyBytes + (1 << 20) - 1) >> 20}m";
        }

        return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "Ingress",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = options.Namespace,
                Labels = Labels.For(gateway.Name, ServiceManifests.Component(gateway), options.Tag),
                Annotations = annotations.Count > 0 ? annotations : null,
            },
            Spec = new V1IngressSpec
            {
                IngressClassName = options.IngressClass,
                Tls = options.TlsSecret is null ? null : [new V1IngressTLS { Hosts = [options.Host!], SecretName = options.TlsSecret }],
                Rules =
                [
                    new V1IngressRule
                    {
                        Host = options.Host,
                        Http = new V1HTTPIngressRuleValue
                        {
                            Paths =
                            [
                                new V1HTTPIngressPath
                                {
                                    Path = path,
                                    PathType = "Prefix",
                                    Backend = new V1IngressBackend
                                    {
                                        Service = new V1IngressServiceBackend { Name = gateway.Name, Port = new V1ServiceBackendPort { Number = port } },
                                    },
                                },
                            ],
                        },
                    },
                ],
            },
        };
    }

    /// <summary>
    /// The gRPC route, as a second Ingress on the same host: ingress-nginx speaks gRPC to its backend only when the
    /// whole Ingress says so (<c>backend-protocol: GRPC</c>), so it cannot share one with the REST routes. The gateway's
    /// gRPC port serves the Open Inference Protocol's service alone, and this routes only that service's path to it.
    /// </summary>
    public V1Ingress? GrpcIngress(PublishedService gateway, long maxRequestBodyBytes)
    {
        if (gateway.Endpoint(PublishedApplication.GrpcEndpoint) is not { } grpc)
        {
            return null;
        }

        var ingress = Ingress(gateway, maxRequestBodyBytes, $"{gateway.Name}-grpc", GrpcServicePath, grpc.Port);
        if (options.IngressClass == "nginx")
        {
            ingress.Metadata.Annotations["nginx.ingress.kubernetes.io/backend-protocol"] = "GRPC";
        }

        return ingress;
    }

    /// <summary>The path prefix of every method of the Open Inference Protocol's gRPC service.</summary>
    public const string GrpcServicePath = "/inference.GRPCInferenceService";

    /// <summary>
    /// The gateway accepts traffic on its public ports only from the Ingress controller's namespace, and on its
    /// management port only from Prometheus's. Its probes need no rule: the kubelet runs them from the node, and
    /// NetworkPolicy does not apply to a node's traffic to its own pods.
    /// </summary>
    public V1NetworkPolicy GatewayPolicy(PublishedService gateway) => Policy(
        gateway.Name,
        [.. gateway.TrafficEndpoints.Select(endpoint => endpoint.Port)],
        [NamespacePeer(options.IngressNamespace)],
        gateway.MetricsEndpoint.Port);

    /// <summary>
    /// A resource accepts traffic only from the pods of the services that reference it in the model, on its
    /// <paramref name="ports"/>, and from the metrics namespace on <paramref name="metricsPort"/>, where it has one.
    /// </summary>
    public V1NetworkPolicy ReferencedPolicy(string name, IReadOnlyList<int> ports, IEnumerable<PublishedService> callers, int? metricsPort) => Policy(
        name,
        ports,
        callers.Select(caller => new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = Labels.Selector(caller.Name) } }).ToList(),
        metricsPort);

    private static V1NetworkPolicyPeer NamespacePeer(string name) =>
        new() { NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = name } } };

    private static V1NetworkPolicyIngressRule Rule(IList<V1NetworkPolicyPeer> from, IEnumerable<int> ports) =>
        new() { FromProperty = from, Ports = [.. ports.Select(port => new V1NetworkPolicyPort { Port = port, Protocol = "TCP" })] };

    private V1NetworkPolicy Policy(string name, IReadOnlyList<int> ports, IList<V1NetworkPolicyPeer> from, int? metricsPort)
    {
        // No rules means nothing may connect (a service no one references, with no metrics namespace), probes aside.
        var rules = new List<V1NetworkPolicyIngressRule>();
        if (from.Count > 0)
        {
            rules.Add(Rule(from, ports));
        }

        // The pods' prometheus.io annotations point a scraper at /metrics on this port.
        if (metricsPort is { } port && options.MetricsNamespace is { } metricsNamespace)
        {
            rules.Add(Rule([NamespacePeer(metricsNamespace)], [port]));
        }

        return new V1NetworkPolicy
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = options.Namespace, Labels = new Dictionary<string, string> { [Labels.PartOf] = Labels.Application } },
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = Labels.Selector(name) },
                PolicyTypes = ["Ingress"],
                Ingress = rules,
            },
        };
    }
}
