using System.Security.Cryptography;
using System.Text;
using k8s.Models;
using MlPlatform.AppHost.Annotations;

namespace MlPlatform.AppHost.Publishing;

/// <summary>
/// One service of the model as Kubernetes objects: its settings ConfigMap, Deployment and ClusterIP
/// Service (a port per endpoint: <c>http</c>, <c>grpc</c> for inference and the gateway, and <c>management</c>
/// for the gateway, whose probes and metrics are served there), a CPU autoscaler and, with more than one
/// replica, a disruption budget.
/// </summary>
internal sealed class ServiceManifests(PublishOptions options)
{
    public const int HttpPort = PublishedApplication.HttpPort;

    private static readonly ComputeResources DefaultCompute = new("100m", "128Mi", "1", "512Mi");

    public static string SettingsName(PublishedService service) => $"{service.Name}-settings";

    public static string SecretName(PublishedService service) => $"{service.Name}-secrets";

    public static string DeclarativeConfigSecretName(PublishedService service) => $"{service.Name}-kong";

    /// <summary>The kong.yml as a Secret of its own, which the gateway reads as a file: updating it reloads the gateway, no restart.</summary>
    public V1Secret DeclarativeConfigSecret(PublishedService service) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = Metadata(DeclarativeConfigSecretName(service), service),
        StringData = new Dictionary<string, string> { [DeclarativeConfigAnnotation.FileName] = File.ReadAllText(service.DeclarativeConfig!) },
    };

    public static string Image(PublishOptions options, string imageName) => $"{options.Registry}/mlplatform-{imageName}:{options.Tag}";

    public static string Component(PublishedService service) => service.IsGateway ? "gateway" : "model-serving";

    /// <summary>The non-secret settings the model gives the service, with cluster addresses instead of loopback ports.</summary>
    public static SortedDictionary<string, string> Settings(PublishedService service)
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["HTTP_PORTS"] = HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The Ingress controller terminates TLS; without this the services would see its address and scheme.
            ["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = "true",
            ["OTEL_SERVICE_NAME"] = service.Name,
        };
        foreach (var (key, value) in service.Environment)
        {
            settings[key] = value;
        }

        return settings;
    }

    public V1ConfigMap ConfigMap(PublishedService service) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = Metadata(SettingsName(service), service),
        Data = Settings(service),
    };

    public V1Secret Secret(PublishedService service, IDictionary<string, string> values) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = Metadata(SecretName(service), service),
        Type = "Opaque",
        StringData = values.Count > 0 ? values : null,
    };

    public V1Deployment Deployment(PublishedService service, bool hasSecret)
    {
        var compute = service.Compute ?? DefaultCompute;
        var isInference = service.ServesModels;
        var container = new V1Container
        {
            Name = service.Name,
            Image = Image(options, service.Name),
            ImagePullPolicy = "IfNotPresent",
            Ports = [.. service.Endpoints.Select(endpoint => new V1ContainerPort { Name = endpoint.Name, ContainerPort = endpoint.Port, Protocol = "TCP" })],
            Env =
            [
                new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                new V1EnvVar { Name = "OTEL_RESOURCE_ATTRIBUTES", Value = "service.instance.id=$(POD_NAME)" },
            ],
            EnvFrom = hasSecret
                ? [ConfigMapSource(service), new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = SecretName(service) } }]
                : [ConfigMapSource(service)],
            ReadinessProbe = HttpProbe(service.Readiness),
            LivenessProbe = HttpProbe(service.Liveness),
            StartupProbe = HttpProbe(service.Startup),
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(compute.CpuRequest), ["memory"] = new(compute.MemoryRequest) },
                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(compute.CpuLimit), ["memory"] = new(compute.MemoryLimit) },
            },
            SecurityContext = Hardening.Container(),
            VolumeMounts = isInference
                ? [Hardening.TmpMount(), new V1VolumeMount { Name = "models", MountPath = ModelRepositoryAnnotation.PublishedPath, ReadOnlyProperty = true }]
                : service.DeclarativeConfig is not null
                    ? [Hardening.TmpMount(), new V1VolumeMount { Name = "kong", MountPath = DeclarativeConfigAnnotation.PublishedDirectory, ReadOnlyProperty = true }]
                    : [Hardening.TmpMount()],
        };

        var pod = new V1PodSpec
        {
            AutomountServiceAccountToken = false,
            SecurityContext = Hardening.Pod(runAsUser: null),
            Containers = [container],
            Volumes = isInference ? [Hardening.TmpVolume(), new V1Volume { Name = "models", EmptyDir = new V1EmptyDirVolumeSource() }]
                : service.DeclarativeConfig is not null
                    // A directory mount, not subPath: the kubelet swaps a Secret's files in place only then.
                    ? [Hardening.TmpVolume(), new V1Volume { Name = "kong", Secret = new V1SecretVolumeSource { SecretName = DeclarativeConfigSecretName(service) } }]
                    : [Hardening.TmpVolume()],
            InitContainers = isInference ? [ModelCopier()] : null,
        };

        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Metadata(service.Name, service),
            Spec = new V1DeploymentSpec
            {
                Replicas = service.Replicas,
                Selector = new V1LabelSelector { MatchLabels = Labels.Selector(service.Name) },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta
                    {
                        Labels = Labels.For(service.Name, Component(service), options.Tag),
                        Annotations = new Dictionary<string, string>
                        {
                            ["prometheus.io/scrape"] = "true",
                            ["prometheus.io/port"] = service.MetricsEndpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            ["prometheus.io/path"] = "/metrics",
                            // Pods restart when their settings change, which envFrom alone would not do.
                            ["checksum/settings"] = Checksum(Settings(service)),
                        },
                    },
                    Spec = pod,
                },
            },
        };
    }

    public V1Service Service(PublishedService service) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Metadata(service.Name, service),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = Labels.Selector(service.Name),
            Ports = [.. service.Endpoints.Select(endpoint => new V1ServicePort
            {
                Name = endpoint.Name,
                Port = endpoint.Port,
                TargetPort = endpoint.Name,
                Protocol = "TCP",
                // Says to an Ingress controller or a mesh that reads it that the port speaks HTTP/2 without TLS.
                AppProtocol = endpoint.IsH2c ? "kubernetes.io/h2c" : null,
            })],
        },
    };

    /// <summary>
    /// Scales on CPU between the model's replica count and three times it. A gateway counting rate
    /// limits on its own (no Redis) stays at its count: more replicas would let more requests through.
    /// </summary>
    public V2HorizontalPodAutoscaler Autoscaler(PublishedService service)
    {
        var minimum = Math.Max(1, service.Replicas);
        var sharesCounts = !service.IsGateway || service.Connections.Count > 0;
        return new V2HorizontalPodAutoscaler
        {
            ApiVersion = "autoscaling/v2",
            Kind = "HorizontalPodAutoscaler",
            Metadata = Metadata(service.Name, service),
            Spec = new V2HorizontalPodAutoscalerSpec
            {
                ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = service.Name },
                MinReplicas = minimum,
                MaxReplicas = sharesCounts ? minimum * 3 : minimum,
                Metrics =
                [
                    new V2MetricSpec
                    {
                        Type = "Resource",
                        Resource = new V2ResourceMetricSource { Name = "cpu", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = 70 } },
                    },
                ],
            },
        };
    }

    public V1PodDisruptionBudget DisruptionBudget(PublishedService service) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = Metadata(service.Name, service),
        Spec = new V1PodDisruptionBudgetSpec
        {
            MaxUnavailable = 1,
            Selector = new V1LabelSelector { MatchLabels = Labels.Selector(service.Name) },
        },
    };

    private V1ObjectMeta Metadata(string name, PublishedService service) => new()
    {
        Name = name,
        NamespaceProperty = options.Namespace,
        Labels = Labels.For(service.Name, Component(service), options.Tag),
    };

    private static V1EnvFromSource ConfigMapSource(PublishedService service) =>
        new() { ConfigMapRef = new V1ConfigMapEnvSource { Name = SettingsName(service) } };

    /// <summary>
    /// Model files are too large for a ConfigMap (1 MiB), so they ship as an image of their own,
    /// copied into an emptyDir the inference container mounts read-only at /models.
    /// </summary>
    private V1Container ModelCopier() => new()
    {
        Name = "copy-models",
        Image = Image(options, "models"),
        ImagePullPolicy = "IfNotPresent",
        Command = ["sh", "-c", "cp -R /models/. /model-repository/"],
        VolumeMounts = [new V1VolumeMount { Name = "models", MountPath = "/model-repository" }],
        Resources = new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("50m"), ["memory"] = new("32Mi") },
            Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m"), ["memory"] = new("128Mi") },
        },
        SecurityContext = Hardening.Container(),
    };

    private static V1Probe? HttpProbe(PublishedProbe? probe) => probe is null ? null : new()
    {
        // By the container port's name: the gateway's probes go to its management port, the others' to http.
        HttpGet = new V1HTTPGetAction { Path = probe.Path, Port = probe.EndpointName },
        PeriodSeconds = probe.PeriodSeconds,
        TimeoutSeconds = probe.TimeoutSeconds,
        FailureThreshold = probe.FailureThreshold,
    };

    private static string Checksum(SortedDictionary<string, string> settings)
    {
        var text = string.Join('\n', settings.Select(pair => $"{pair.Key}={pair.Value}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}
