using System.Reflection;

namespace MlPlatform.Inference.Repository;

/// <summary>Where the model repository is: the configured folder, else the default one.</summary>
internal static class ModelRepositoryLocation
{
    public const string DefaultFolderName = "models";

    /// <summary>The key of the assembly metadata the project file records the source tree's root under.</summary>
    public const string BuildRootMetadataKey = "MlPlatformRoot";

    private static readonly string? BuildRoot = typeof(ModelRepositoryLocation).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(attribute => attribute.Key == BuildRootMetadataKey)?.Value;

    /// <summary>The full path of the repository to serve, for <c>Inference:ModelRepository</c> (null when unset).</summary>
    public static string Resolve(string? configured) => Resolve(configured, Directory.GetCurrentDirectory(), BuildRoot);

    /// <summary>
    /// A configured folder as given. Unset, <c>models</c> in the working directory, as a deployment lays it out;
    /// where there is none, the bundled <c>models</c> folder of the source tree the service was built from, so
    /// the service also serves when started from its build output, elsewhere, or by <c>dotnet run</c> without
    /// a launch profile. Where neither exists, the working directory's, so the error names the documented default.
    /// </summary>
    internal static string Resolve(string? configured, string workingDirectory, string? buildRoot)
    {
        if (configured is not null)
        {
            return Path.GetFullPath(configured, workingDirectory);
        }

        var local = Path.Combine(workingDirectory, DefaultFolderName);
        if (Directory.Exists(local) || string.IsNullOrEmpty(buildRoot))
        {
            return local;
        }

        var bundled = Path.GetFullPath(Path.Combine(buildRoot, DefaultFolderName));
        return Directory.Exists(bundled) ? bundled : local;
    }
}
