namespace MlPlatform.AppHost.Publishing;

/// <summary>The recommended <c>app.kubernetes.io/*</c> labels, and the stable subset selectors use.</summary>
internal static class Labels
{
    public const string Name = "app.kubernetes.io/name";
    public const string PartOf = "app.kubernetes.io/part-of";
    public const string Component = "app.kubernetes.io/component";
    public const string Version = "app.kubernetes.io/version";
    public const string Application = "mlplatform";

    /// <summary>What selects a workload's pods; never the version, because a Deployment's selector cannot change.</summary>
    public static Dictionary<string, string> Selector(string name) => new(StringComparer.Ordinal)
    {
        [Name] = name,
        [PartOf] = Application,
    };

    public static Dictionary<string, string> For(string name, string component, string version) => new(Selector(name), StringComparer.Ordinal)
    {
        [Component] = component,
        [Version] = version,
    };
}
