using MlPlatform.Platform.Testing;

namespace MlPlatform.Bench;

/// <summary>How the benchmarks start what they measure: the services' own logging kept out of the way.</summary>
internal static class BenchApplication
{
    /// <summary>Warnings only, but the lifetime line that says where a service listens, which the start-up helpers read.</summary>
    public static Dictionary<string, string?> QuietLogging() => new()
    {
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
    };

    /// <summary>The application with its default replicas, started from the AppHost through DCP as <c>dotnet run --project AppHost</c> starts it.</summary>
    public static Task<RunningPlatform> StartAsync() =>
        RunningPlatform.StartAsync([], environment: QuietLogging().ToDictionary(pair => pair.Key, pair => pair.Value!));
}
