using MlPlatform.AppHost;
using MlPlatform.AppHost.Annotations;
using MlPlatform.AppHost.ModelControl;
using MlPlatform.AppHost.Publishing;
using MlPlatform.AppHost.Redis;
using MlPlatform.AppHost.SelfHealing;

// dotnet run --project AppHost [-- --AppHost:GatewayPort=9000 --AppHost:GatewayGrpcPort=9001 --AppHost:Replicas:inference=3]
// dotnet aspire publish -o deploy/k8s   (or: dotnet run --project AppHost -- --operation publish --output-path deploy/k8s)
var builder = DistributedApplication.CreateBuilder(args);
var settings = AppHostSettings.Read(builder.Configuration);

// No service takes its launch profile: those are for running one service alone, and their fixed addresses
// (inference on 8001) would sit beside the ones Aspire gives each reference.
var inference = builder.AddProject<Projects.MlPlatform_Inference>("inference", launchProfileName: null)
    .WithHttpEndpoint(name: "http")
    // The Open Inference Protocol over gRPC, h2c on a port of its own; the variable keeps it out of ASPNETCORE_URLS.
    .WithHttpEndpoint(name: "grpc", env: "Inference__GrpcPort")
    .WithReplicas(settings.Replicas("inference"))
    .WithModelRepository(settings.ModelRepository)
    // Models load and unload while it runs (Triton's explicit mode, all at start), and "Reload models" does it from the dashboard.
    .WithModelControl()
    .WithComputeResources(new ComputeResources("500m", "1Gi", "2", "2Gi"))
    .WithHealthProbes(startupWithin: TimeSpan.FromMinutes(5));

var preprocessing = builder.AddProject<Projects.MlPlatform_Preprocessing>("preprocessing", launchProfileName: null)
    .WithHttpEndpoint(name: "http")
    .WithReplicas(settings.Replicas("preprocessing"))
    .WithReference(inference)
    .WaitFor(inference)
    .WithComputeResources(ComputeResources.SmallService)
    .WithHealthProbes();

var postprocessing = builder.AddProject<Projects.MlPlatform_Postprocessing>("postprocessing", launchProfileName: null)
    .WithHttpEndpoint(name: "http")
    .WithReplicas(settings.Replicas("postprocessing"))
    .WithReference(inference)
    .WaitFor(inference)
    .WithComputeResources(ComputeResources.SmallService)
    .WithHealthProbes();

var gateway = builder.AddProject<Projects.MlPlatform_Gateway>("gateway", launchProfileName: null)
    .WithReplicas(settings.Replicas("gateway"))
    .WithHttpEndpoint(port: settings.GatewayPort, name: "http")
    // The Open Inference Protocol over gRPC, to inference's grpc endpoint; h2c on a port of its own, like inference's.
    .WithHttpEndpoint(port: settings.GatewayGrpcPort, name: "grpc", env: "Gateway__GrpcPort")
    .WithExternalHttpEndpoints()
    // Its own /health, /alive and /metrics, as Kong's status listener: for probes, the dashboard and Prometheus, never
    // behind the Ingress. Added after WithExternalHttpEndpoints, which marks the endpoints there are so far.
    .WithHttpEndpoint(name: "management", env: "Gateway__ManagementPort")
    .AsGateway()
    .WithDeclarativeConfig(settings.DeclarativeConfig)
    .WithReference(preprocessing)
    .WithReference(inference)
    .WithReference(postprocessing)
    .WaitFor(preprocessing)
    .WaitFor(inference)
    .WaitFor(postprocessing)
    .WithComputeResources(ComputeResources.SmallService)
    .WithHealthProbes(endpointName: "management")
    .WithLocalConnectionLifetime(TimeSpan.FromSeconds(2))
    .WithTryItPage(settings.DevelopmentApiKey, settings.DashboardUrl);

// Gateways that count requests each on their own would let N times the limit through: several share their counts in Redis.
if (settings.SharesRateLimitCounts)
{
    var redis = builder.AddRedisServer("redis");
    gateway.WithReference(redis)
        .WaitFor(redis)
        .WithEnvironment("Gateway__RateLimiting__Policy", "redis");
}

builder.RunProjectsInAppHostEnvironment();
builder.AddReplicaRestarts();
builder.AddKubernetesPublishing();

builder.Build().Run();
