using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace MlPlatform.AppHost;

/// <summary>
/// What the command line or the environment may change about the application: <c>AppHost:Replicas:{service}</c>,
/// <c>AppHost:GatewayPort</c>, <c>AppHost:GatewayGrpcPort</c>, <c>AppHost:Gateway:RateLimitPolicy</c> (<c>local</c> or
/// <c>redis</c>), <c>AppHost:Gateway:DeclarativeConfig</c> (a kong.yml) and <c>AppHost:ModelRepository</c>. Every problem is reported at once, before anything starts.
/// </summary>
internal sealed class AppHostSettings
{
    public static readonly IReadOnlyDictionary<string, int> DefaultReplicas = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["gateway"] = 1,
        ["preprocessing"] = 2,
        ["inference"] = 2,
        ["postprocessing"] = 2,
    };

    private readonly Dictionary<string, int> _replicas;

    private AppHostSettings(Dictionary<string, int> replicas, int gatewayPort, int gatewayGrpcPort, string rateLimitPolicy, string modelRepository, string? declarativeConfig, string? developmentApiKey, string? dashboardUrl)
    {
        DeclarativeConfig = declarativeConfig;
        DashboardUrl = dashboardUrl;
        _replicas = replicas;
        GatewayPort = gatewayPort;
        GatewayGrpcPort = gatewayGrpcPort;
        RateLimitPolicy = rateLimitPolicy;
        ModelRepository = modelRepository;
        DevelopmentApiKey = developmentApiKey;
    }

    public int GatewayPort { get; }

    /// <summary>The gateway's gRPC port: a port of its own, since cleartext HTTP/2 cannot share one with HTTP/1.1.</summary>
    public int GatewayGrpcPort { get; }

    public string RateLimitPolicy { get; }

    /// <summary>The model repository inference serves locally, as an absolute path.</summary>
    public string ModelRepository { get; }

    /// <summary>A Kong declarative file (kong.yml) as the gateway's traffic configuration, as an absolute path; null for its settings.</summary>
    public string? DeclarativeConfig { get; }

    /// <summary>The key of the gateway's example consumer, which the try page and the test prediction command send.</summary>
    public string? DevelopmentApiKey { get; }

    /// <summary>The Aspire dashboard's address (the AppHost's own <c>ASPNETCORE_URLS</c>), for links to a trace.</summary>
    public string? DashboardUrl { get; }

    public bool SharesRateLimitCounts => _replicas["gateway"] > 1 || RateLimitPolicy == "redis";

    public int Replicas(string service) => _replicas[service];

    /// <summary>The repository's root folder, recorded at build time, so models/ is found wherever the AppHost runs from.</summary>
    public static string RepositoryRoot { get; } =
        typeof(AppHostSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MlPlatformRoot").Value!;

    /// <summary>The settings; a setting out of range ends the AppHost with a line naming it.</summary>
    public static AppHostSettings Read(IConfiguration configuration)
    {
        var problems = new List<string>();
        var replicas = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (service, defaultCount) in DefaultReplicas)
        {
            replicas[service] = Integer(configuration, $"AppHost:Replicas:{service}", defaultCount, 0, 64, problems);
        }

        foreach (var child in configuration.GetSection("AppHost:Replicas").GetChildren())
        {
            if (!DefaultReplicas.ContainsKey(child.Key))
            {
                problems.Add($"AppHost:Replicas:{child.Key}: the application has no service '{child.Key}'; it has {string.Join(", ", DefaultReplicas.Keys)}.");
            }
        }

        var port = Integer(configuration, "AppHost:GatewayPort", 8080, 1, 65535, problems);
        var grpcPort = Integer(configuration, "AppHost:GatewayGrpcPort", 8081, 1, 65535, problems);
        if (grpcPort == port)
        {
            problems.Add($"AppHost:GatewayGrpcPort is {grpcPort}, the same as AppHost:GatewayPort; gRPC needs a port of its own.");
        }

        var policy = configuration["AppHost:Gateway:RateLimitPolicy"] ?? "local";
        if (policy is not ("local" or "redis"))
        {
            problems.Add($"AppHost:Gateway:RateLimitPolicy is '{policy}'; it must be 'local' or 'redis'.");
        }

        var models = Path.GetFullPath(configuration["AppHost:ModelRepository"] ?? Path.Combine(RepositoryRoot, "models"));
        if (!Directory.Exists(models))
        {
            problems.Add($"AppHost:ModelRepository: the folder '{models}' does not exist.");
        }

        var declarativeConfig = configuration["AppHost:Gateway:DeclarativeConfig"] is { Length: > 0 } file ? Path.GetFullPath(file) : null;
        if (declarativeConfig is not null && !File.Exists(declarativeConfig))
        {
            problems.Add($"AppHost:Gateway:DeclarativeConfig: the file '{declarativeConfig}' does not exist.");
        }

        if (problems.Count > 0)
        {
            StartupProblems.Exit(problems);
        }

        var dashboardUrl = configuration["ASPNETCORE_URLS"]?.Split(';', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return new AppHostSettings(replicas, port, grpcPort, policy, models, declarativeConfig, configuration["AppHost:DevelopmentApiKey"], dashboardUrl);
    }

    private static int Integer(IConfiguration configuration, string key, int defaultValue, int min, int max, List<string> problems)
    {
        var text = configuration[key];
        if (text is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            problems.Add($"{key} is '{text}'; it must be a whole number from {min} to {max}.");
            return defaultValue;
        }

        return value;
    }
}
