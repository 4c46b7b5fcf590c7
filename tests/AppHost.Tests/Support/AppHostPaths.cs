using System.Reflection;

namespace MlPlatform.AppHost.Tests.Support;

/// <summary>Where the repository and the built AppHost are, seen from a test.</summary>
internal static class AppHostPaths
{
    /// <summary>The repository root, as the AppHost recorded it when it was built.</summary>
    public static string Root { get; } = Path.GetFullPath(AppHostSettings.RepositoryRoot);

    /// <summary>The configuration the tests were built with; the AppHost they reference was built with the same one.</summary>
    public static string Configuration { get; } =
        typeof(AppHostPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The AppHost as <c>dotnet run --project AppHost</c> builds it.</summary>
    public static string AppHostAssembly
    {
        get
        {
            var path = Path.Combine(Root, "AppHost", "bin", Configuration, "net10.0", "MlPlatform.AppHost.dll");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException($"{path} is missing; build the tests first (dotnet build tests/AppHost.Tests -c {Configuration}).", path);
        }
    }
}
