using System.Reflection;

namespace MlPlatform.MnistTrainer;

internal static class RepositoryRoot
{
    /// <summary>The root recorded at build time (MlPlatformRoot), else the nearest ancestor of the working directory holding Directory.Build.props.</summary>
    public static string Find()
    {
        var recorded = typeof(RepositoryRoot).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "MlPlatformRoot")?.Value;
        if (!string.IsNullOrEmpty(recorded) && File.Exists(Path.Combine(recorded, "Directory.Build.props")))
        {
            return Path.GetFullPath(recorded);
        }

        for (var directory = new DirectoryInfo(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Build.props")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root; run from inside the repository.");
    }
}
