using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Running;

namespace MlPlatform.AppHost;

/// <summary>The AppHost's settings: appsettings.json beside it, then the environment, then the command line.</summary>
public static class AppHostConfiguration
{
    public static IConfiguration Build(string[] args, IEnumerable<KeyValuePair<string, string?>>? overrides = null) =>
        new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .AddInMemoryCollection(overrides ?? [])
            .Build();

    /// <summary>The model repository the inference service serves: <c>AppHost:ModelRepository</c>, or the repository's models/.</summary>
    public static string ModelRepository(IConfiguration configuration) =>
        Path.GetFullPath(configuration["AppHost:ModelRepository"] ?? Path.Combine(BuildLayout.Root, "models"));
}
