using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost;

/// <summary>
/// MlPlatform, described once: which services exist, how many replicas each runs, which references
/// which. <c>run</c>, <c>publish</c> and the end-to-end tests all start from this.
/// </summary>
public static class MlPlatformApplication
{
    private static readonly ComputeResources SmallService = new("100m", "128Mi", "1", "512Mi");

    /// <summary>
    /// Builds the model; <c>AppHost:Replicas:{service}</c>, <c>AppHost:GatewayPort</c> and
    /// <c>AppHost:Gateway:RateLimitPolicy</c> (<c>local</c> or <c>redis</c>) override the defaults.
    /// </summary>
    public static ApplicationModel Describe(IConfiguration configuration, string modelRepository)
    {
        var app = new ApplicationModel();
        var gatewayReplicas = Replicas(configuration, "gateway", 1);
        var rateLimitPolicy = RateLimitPolicy(configuration);

        var inference = app.AddProject("inference", "Services/Inference", "MlPlatform.Inference")
            .WithReplicas(Replicas(configuration, "inference", 2))
            .WithEnvironment("Inference__ModelRepository", modelRepository)
            .WithComputeResources(new ComputeResources("500m", "1Gi", "2", "2Gi"))
            .WithSlowStart(TimeSpan.FromMinutes(5))
            .WithHttpHealthCheck("/health");

        var preprocessing = app.AddProject("preprocessing", "Services/Preprocessing", "MlPlatform.Preprocessing")
            .WithReplicas(Replicas(configuration, "preprocessing", 2))
            .WithReference(inference)
            .WaitFor(inference)
            .WithComputeResources(SmallService)
            .WithHttpHealthCheck("/health");

        var postprocessing = app.AddProject("postprocessing", "Services/Postprocessing", "MlPlatform.Postprocessing")
            .WithReplicas(Replicas(configuration, "postprocessing", 2))
            .WithReference(inference)
            .WaitFor(inference)
            .WithComputeResources(SmallService)
            .WithHttpHealthCheck("/health");

        var gateway = app.AddProject("gateway", "Gateway", "MlPlatform.Gateway")
            .WithReplicas(gatewayReplicas)
            .WithHttpEndpoint(port: configuration.GetValue<int?>("AppHost:GatewayPort") ?? 8080)
            .WithExternalHttpEndpoints()
            .WithReference(preprocessing)
            .WithReference(inference)
            .WithReference(postprocessing)
            .WaitFor(preprocessing)
            .WaitFor(inference)
            .WaitFor(postprocessing)
            .WithComputeResources(SmallService)
            .WithHttpHealthCheck("/health");

        // Replicas that count requests each on their own would let N times the limit through:
        // several gateways share their counts in Redis.
        if (gatewayReplicas > 1 || rateLimitPolicy == "redis")
        {
            var redis = app.AddRedis("redis");
            gateway.WithReference(redis)
                .WithEnvironment("Gateway__RateLimiting__Policy", "redis");
        }

        return app;
    }

    private static string RateLimitPolicy(IConfiguration configuration)
    {
        const string Key = "AppHost:Gateway:RateLimitPolicy";
        var policy = configuration[Key] ?? "local";
        return policy is "local" or "redis"
            ? policy
            : throw new ArgumentException($"{Key} is '{policy}'; it must be 'local' or 'redis'.", nameof(configuration));
    }

    private static int Replicas(IConfiguration configuration, string service, int defaultReplicas)
    {
        var replicas = configuration.GetValue<int?>($"AppHost:Replicas:{service}") ?? defaultReplicas;
        return replicas >= 0
            ? replicas
            : throw new ArgumentOutOfRangeException(nameof(configuration), $"AppHost:Replicas:{service} is {replicas}; it must be 0 or more.");
    }
}
