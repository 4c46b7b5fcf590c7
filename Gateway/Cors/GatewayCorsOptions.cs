using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Gateway.Cors;

/// <summary>The cross-origin policy, from <c>Gateway:Cors</c>; none when no origin is allowed.</summary>
public sealed class GatewayCorsOptions
{
    public const string SectionName = "Gateway:Cors";

    public List<string> AllowedOrigins { get; set; } = [];

    public List<string> AllowedMethods { get; set; } = [];

    public List<string> AllowedHeaders { get; set; } = [];

    public List<string> ExposedHeaders { get; set; } = [];

    public bool AllowCredentials { get; set; }

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);
}
