using k8s.Models;

namespace MlPlatform.AppHost.Publishing;

/// <summary>
/// The security settings every pod gets, enough for the <c>restricted</c> Pod Security Standard:
/// non-root, no privilege escalation, no capabilities, read-only root filesystem, default seccomp.
/// </summary>
internal static class Hardening
{
    public static V1PodSecurityContext Pod(long? runAsUser) => new()
    {
        RunAsNonRoot = true,
        RunAsUser = runAsUser,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    public static V1SecurityContext Container() => new()
    {
        RunAsNonRoot = true,
        AllowPrivilegeEscalation = false,
        ReadOnlyRootFilesystem = true,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
    };

    /// <summary>.NET and Redis write temporary files; with a read-only root they go to this emptyDir.</summary>
    public static V1Volume TmpVolume() => new() { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() };

    public static V1VolumeMount TmpMount() => new() { Name = "tmp", MountPath = "/tmp" };
}
