using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Gateway.Management;

/// <summary>The gateway's management port, from the <c>Gateway</c> configuration section.</summary>
public sealed class ManagementOptions
{
    public const string SectionName = "Gateway";

    /// <summary>The setting's configuration key, as start-up problems name it.</summary>
    public const string Key = $"{SectionName}:{nameof(ManagementPort)}";

    /// <summary>The port the launch profile gives it, beside the public 8080, and a published gateway's container port.</summary>
    public const int ConventionalPort = 8090;

    /// <summary>
    /// The port of the gateway's own <c>/health</c>, <c>/alive</c> and <c>/metrics</c>, as Kong's status listener, and
    /// nothing else: the public port answers 404 for them. Unset, there is no management port and the gateway serves them
    /// nowhere, as Kong without a <c>status_listen</c> has no status endpoint: an operator who forgets it gets a gateway
    /// that cannot be probed, never one whose metrics are public.
    /// </summary>
    [Range(1, 65535)]
    public int? ManagementPort { get; set; }
}
