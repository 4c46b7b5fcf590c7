using k8s.Models;
using MlPlatform.AppHost.Annotations;

namespace MlPlatform.AppHost.Publishing;

/// <summary>An executable of the model (Redis) as one Deployment and ClusterIP Service, from its public image.</summary>
internal sealed class RedisManifests(PublishOptions options)
{
    /// <summary>The redis user of the official images, so the container needs no root to drop privileges.</summary>
    private const long RedisUser = 999;

    public V1Deployment Deployment(PublishedExecutable redis) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = Metadata(redis),
        Spec = new V1DeploymentSpec
        {
            // One server: rate-limit counts need one source of truth, and they are cheap to lose.
            Replicas = 1,
            Strategy = new V1DeploymentStrategy { Type = "Recreate" },
            Selector = new V1LabelSelector { MatchLabels = Labels.Selector(redis.Name) },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = Labels.For(redis.Name, "rate-limit-store", options.Tag) },
                Spec = new V1PodSpec
                {
                    AutomountServiceAccountToken = false,
                    SecurityContext = Hardening.Pod(RedisUser),
                    Containers =
                    [
                        new V1Container
                        {
                            Name = redis.Name,
                            Image = redis.Image,
                            ImagePullPolicy = "IfNotPresent",
                            Args = ["redis-server", "--port", $"{redis.TargetPort}", "--save", "", "--appendonly", "no"],
                            Ports = [new V1ContainerPort { Name = "redis", ContainerPort = redis.TargetPort, Protocol = "TCP" }],
                            ReadinessProbe = Ping(redis, periodSeconds: 5),
                            LivenessProbe = Ping(redis, periodSeconds: 15),
                            Resources = new V1ResourceRequirements
                            {
                                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("50m"), ["memory"] = new("64Mi") },
                                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m"), ["memory"] = new("256Mi") },
                            },
                            SecurityContext = Hardening.Container(),
                            VolumeMounts = [Hardening.TmpMount(), new V1VolumeMount { Name = "data", MountPath = "/data" }],
                        },
                    ],
                    Volumes = [Hardening.TmpVolume(), new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() }],
                },
            },
        },
    };

    public V1Service Service(PublishedExecutable redis) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Metadata(redis),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = Labels.Selector(redis.Name),
            Ports = [new V1ServicePort { Name = "redis", Port = redis.TargetPort, TargetPort = "redis", Protocol = "TCP" }],
        },
    };

    private static V1Probe Ping(PublishedExecutable redis, int periodSeconds) => new()
    {
        Exec = new V1ExecAction { Command = ["redis-cli", "-p", $"{redis.TargetPort}", "ping"] },
        PeriodSeconds = periodSeconds,
        TimeoutSeconds = 3,
        FailureThreshold = 3,
    };

    private V1ObjectMeta Metadata(PublishedExecutable redis) => new()
    {
        Name = redis.Name,
        NamespaceProperty = options.Namespace,
        Labels = Labels.For(redis.Name, "rate-limit-store", options.Tag),
    };
}
