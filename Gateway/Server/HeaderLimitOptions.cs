using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Gateway.Server;

/// <summary>Kestrel's request header limits, from the <c>Gateway</c> section; unset, Kestrel's own (32 KiB, 100). Past them Kestrel answers 431 before any middleware runs.</summary>
public sealed class HeaderLimitOptions
{
    public const string SectionName = "Gateway";

    [Range(1, int.MaxValue)]
    public int? MaxRequestHeadersTotalSize { get; set; }

    [Range(1, int.MaxValue)]
    public int? MaxRequestHeaderCount { get; set; }
}
