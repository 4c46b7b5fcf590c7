using System.Reflection;

namespace MlPlatform.AppHost.Running;

/// <summary>Where the repository and the services' build outputs are: baked in when the AppHost is built.</summary>
internal static class BuildLayout
{
    private static readonly Assembly AppHostAssembly = typeof(BuildLayout).Assembly;

    public static string Root { get; } = Metadata("MlPlatformRoot") is { Length: > 0 } root && Directory.Exists(root)
        ? Path.GetFullPath(root)
        : Directory.GetCurrentDirectory();

    public static string Configuration { get; } = Metadata("MlPlatformConfiguration") ?? "Debug";

    public static string ServiceAssembly(string projectDirectory, string assemblyName) =>
        Path.Combine(Root, projectDirectory, "bin", Configuration, "net10.0", assemblyName + ".dll");

    private static string? Metadata(string key) =>
        AppHostAssembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}
