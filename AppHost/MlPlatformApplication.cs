using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost;

/// <summary>
/// MlPlatform, described once: which services exist, how many replicas each runs, which references
/// which. <c>run</c>, <c>publish</c> and the end-to-end tests all start from this.
/// </summary>
public static class MlPlatformApplication
{
    /// <summary>Builds the model; <c>AppHost:Replicas:{service}</c> and <c>AppHost:GatewayPort</c> override the defaults.</summary>
    public static ApplicationModel Describe(IConfiguration configuration, string modelRepository)
    {
        var app = new ApplicationModel();

        var inference = app.AddProject("inference", "Services/Inference", "MlPlatform.Inference")
            .WithReplicas(Replicas(configuration, "inference", 2))
            .WithEnvironment("Inference__ModelRepository", modelRepository)
            .WithHttpHealthCheck("/health");

        var preprocessing = app.AddProject("preprocessing", "Services/Preprocessing", "MlPlatform.Preprocessing")
            .WithReplicas(Replicas(configuration, "preprocessing", 2))
            .WithReference(inference)
            .WaitFor(inference)
            .WithHttpHealthCheck("/health");

        var postprocessing = app.AddProject("postprocessing", "Services/Postprocessing", "MlPlatform.Postprocessing")
            .WithReplicas(Replicas(configuration, "postprocessing", 2))
            .WithReference(inference)
            .WaitFor(inference)
            .WithHttpHealthCheck("/health");

        app.AddProject("gateway", "Gateway", "MlPlatform.Gateway")
            .WithReplicas(Replicas(configuration, "gateway", 1))
            .WithHttpEndpoint(port: configuration.GetValue<int?>("AppHost:GatewayPort") ?? 8080)
            .WithExternalHttpEndpoints()
            .WithReference(preprocessing)
            .WithReference(inference)
            .WithReference(postprocessing)
            .WaitFor(preprocessing)
            .WaitFor(inference)
            .WaitFor(postprocessing)
            .WithHttpHealthCheck("/health");

        return app;
    }

    private static int Replicas(IConfiguration configuration, string service, int defaultReplicas)
    {
        var replicas = configuration.GetValue<int?>($"AppHost:Replicas:{service}") ?? defaultReplicas;
        return replicas >= 0
            ? replicas
            : throw new ArgumentOutOfRangeException(nameof(configuration), $"AppHost:Replicas:{service} is {replicas}; it must be 0 or more.");
    }
}
