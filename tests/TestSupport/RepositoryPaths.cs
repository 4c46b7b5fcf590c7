using System.Reflection;

namespace MlPlatform.TestSupport;

/// <summary>Where the repository and the build outputs of its projects are, seen from a test.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    /// <summary>The configuration the tests were built with; the services were built with the same one.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string InRoot(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The built assembly of a project, for example <c>("Services/Inference", "MlPlatform.Inference")</c>.</summary>
    public static string ProjectAssembly(string projectDirectory, string assemblyName)
    {
        var path = Path.Combine(Root, projectDirectory, "bin", Configuration, "net10.0", assemblyName + ".dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} is missing; build the solution first (dotnet build MlPlatform.sln -c {Configuration}).", path);
        }

        return path;
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MlPlatform.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No MlPlatform.sln above {AppContext.BaseDirectory}.");
    }
}
