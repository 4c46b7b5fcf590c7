namespace MlPlatform.AppHost.Annotations;

/// <summary>CPU and memory per replica in Kubernetes quantities (<c>250m</c>, <c>512Mi</c>): requests are reserved, limits enforced.</summary>
public sealed record ComputeResources(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit) : IResourceAnnotation
{
    public static ComputeResources SmallService { get; } = new("100m", "128Mi", "1", "512Mi");
}

/// <summary>
/// The model repository a service serves: a folder on this machine in a local run; in a cluster an image of
/// its own, copied into the pod and mounted read-only.
/// </summary>
public sealed record ModelRepositoryAnnotation(string LocalPath) : IResourceAnnotation
{
    public const string EnvironmentVariable = "Inference__ModelRepository";

    /// <summary>Where the repository is mounted in a published pod.</summary>
    public const string PublishedPath = "/models";
}

/// <summary>Marks the application's one public entry: the resource behind the Ingress, with the API keys.</summary>
public sealed class GatewayRoleAnnotation : IResourceAnnotation;

/// <summary>
/// The Kong declarative file (kong.yml) that configures the gateway's traffic: read where it is in a local run; in a
/// cluster a Secret of its own (its keys are credentials), mounted as a file the gateway watches, so updating the Secret
/// reloads the configuration without a restart.
/// </summary>
public sealed record DeclarativeConfigAnnotation(string LocalPath) : IResourceAnnotation
{
    public const string EnvironmentVariable = "Gateway__DeclarativeConfig";

    /// <summary>The folder the Secret is mounted at in a published pod.</summary>
    public const string PublishedDirectory = "/etc/mlplatform/kong";

    public const string FileName = "kong.yml";

    public static string PublishedPath => PublishedDirectory + "/" + FileName;
}
