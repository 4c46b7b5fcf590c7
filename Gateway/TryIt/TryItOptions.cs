namespace MlPlatform.Gateway.TryIt;

/// <summary>Settings of the development-only Try it page at <c>/try</c>, from the <c>Gateway:TryIt</c> configuration section.</summary>
public sealed class TryItOptions
{
    public const string SectionName = "Gateway:TryIt";

    /// <summary>The key of the development example consumer in appsettings.json.</summary>
    public const string DevelopmentApiKey = "dev-key-change-me";

    /// <summary>
    /// The API key the page sends with each prediction, in plain text in the page: only ever a development
    /// consumer's. The page calls the public predict route, so key-auth and rate limits apply to it as to
    /// any client.
    /// </summary>
    public string ApiKey { get; set; } = DevelopmentApiKey;

    /// <summary>
    /// The base address of the Aspire dashboard, such as <c>http://localhost:18888</c>; when set, each
    /// prediction's trace id links to <c>{DashboardUrl}/traces/detail/{traceId}</c>.
    /// </summary>
    public string? DashboardUrl { get; set; }

    /// <summary>The dashboard's address without a trailing slash, or null when none is set.</summary>
    public string? DashboardBase => string.IsNullOrWhiteSpace(DashboardUrl) ? null : DashboardUrl.Trim().TrimEnd('/');
}
