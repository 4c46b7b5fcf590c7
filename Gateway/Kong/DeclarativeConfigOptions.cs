namespace MlPlatform.Gateway.Kong;

/// <summary>
/// The gateway's traffic configuration as a Kong declarative file (<c>kong.yml</c>, format 3.0), from the
/// <c>Gateway</c> section. Without a file, the gateway's own settings (<c>Gateway:KeyAuth</c>,
/// <c>Gateway:RateLimiting</c>, ...) configure it, as before.
/// </summary>
public sealed class DeclarativeConfigOptions
{
    public const string SectionName = "Gateway";

    /// <summary>The shortest admin token accepted: a token is a password to the gateway's whole traffic configuration.</summary>
    public const int MinAdminTokenLength = 16;

    /// <summary>A YAML or JSON file in Kong's declarative format 3.0; read on start and again whenever it changes.</summary>
    public string? DeclarativeConfig { get; set; }

    /// <summary>
    /// The token <c>POST /config</c> on the management port asks for, in the <c>Kong-Admin-Token</c> header; without
    /// one, the admin API is not served at all.
    /// </summary>
    public string? AdminToken { get; set; }

    public bool IsEnabled => !string.IsNullOrWhiteSpace(DeclarativeConfig);
}
