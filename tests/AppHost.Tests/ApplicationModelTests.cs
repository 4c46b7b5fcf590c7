using MlPlatform.AppHost.Annotations;
using MlPlatform.AppHost.Redis;
using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests;

/// <summary>The AppHost's models for a few command lines, built once for the class and never started.</summary>
public sealed class ApplicationModels : IAsyncLifetime
{
    public IDistributedApplicationTestingBuilder Default { get; private set; } = null!;

    /// <summary><c>--AppHost:Replicas:inference=3 --AppHost:GatewayPort=9000 --AppHost:GatewayGrpcPort=9001</c>.</summary>
    public IDistributedApplicationTestingBuilder Scaled { get; private set; } = null!;

    public IDistributedApplicationTestingBuilder TwoGateways { get; private set; } = null!;

    public IDistributedApplicationTestingBuilder RedisPolicy { get; private set; } = null!;

    public IDistributedApplicationTestingBuilder this[string name] => name switch
    {
        nameof(Default) => Default,
        nameof(Scaled) => Scaled,
        nameof(TwoGateways) => TwoGateways,
        nameof(RedisPolicy) => RedisPolicy,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    public async Task InitializeAsync()
    {
        Default = await AppHostModel.CreateBuilderAsync();
        Scaled = await AppHostModel.CreateBuilderAsync("--AppHost:Replicas:inference=3", "--AppHost:GatewayPort=9000", "--AppHost:GatewayGrpcPort=9001");
        TwoGateways = await AppHostModel.CreateBuilderAsync("--AppHost:Replicas:gateway=2");
        RedisPolicy = await AppHostModel.CreateBuilderAsync("--AppHost:Gateway:RateLimitPolicy=redis");
    }

    public async Task DisposeAsync()
    {
        foreach (var builder in new[] { Default, Scaled, TwoGateways, RedisPolicy })
        {
            if (builder is not null)
            {
                await builder.DisposeAsync();
            }
        }
    }
}

public sealed class ApplicationModelTests(ApplicationModels models) : IClassFixture<ApplicationModels>
{
    private static readonly string[] Services = ["preprocessing", "inference", "postprocessing"];

    [Fact]
    public void Build_Defaults_FourProjects()
    {
        Assert.Equal(
            ["gateway", "inference", "postprocessing", "preprocessing"],
            models.Default.Resources.OfType<ProjectResource>().Select(p => p.Name).Order());
    }

    [Theory]
    [InlineData("gateway", 1)]
    [InlineData("preprocessing", 2)]
    [InlineData("inference", 2)]
    [InlineData("postprocessing", 2)]
    public void Build_Defaults_GatewayOneAndTwoOfEachService(string name, int replicas)
    {
        Assert.Equal(replicas, Replicas(models.Default.Resource<ProjectResource>(name)));
    }

    [Fact]
    public void Build_ReplicasSetting_TakesEffectForThatServiceOnly()
    {
        Assert.Equal(3, Replicas(models.Scaled.Resource<ProjectResource>("inference")));
        Assert.Equal(2, Replicas(models.Scaled.Resource<ProjectResource>("preprocessing")));
        Assert.Equal(1, Replicas(models.Scaled.Resource<ProjectResource>("gateway")));
    }

    [Fact]
    public void Build_GatewayPort_TheGatewaysExternalHttpEndpoint()
    {
        var defaultEndpoint = HttpEndpoint(models.Default.Resource<ProjectResource>("gateway"));
        var endpoint = HttpEndpoint(models.Scaled.Resource<ProjectResource>("gateway"));

        Assert.Equal(8080, defaultEndpoint.Port);
        Assert.Equal(9000, endpoint.Port);
        Assert.True(endpoint.IsExternal);
        Assert.False(HttpEndpoint(models.Default.Resource<ProjectResource>("inference")).IsExternal);
    }

    [Fact]
    public void Build_GatewayGrpcPort_TheGatewaysExternalGrpcEndpoint()
    {
        var defaultEndpoint = Endpoint(models.Default.Resource<ProjectResource>("gateway"), "grpc");
        var endpoint = Endpoint(models.Scaled.Resource<ProjectResource>("gateway"), "grpc");

        Assert.Equal(8081, defaultEndpoint.Port);
        Assert.Equal(9001, endpoint.Port);
        Assert.True(defaultEndpoint.IsExternal);
        Assert.Equal("http", defaultEndpoint.UriScheme);
    }

    [Fact]
    public void Build_Inference_AnInternalGrpcEndpointPreAndPostprocessingHaveNone()
    {
        var endpoint = Endpoint(models.Default.Resource<ProjectResource>("inference"), "grpc");

        Assert.False(endpoint.IsExternal);
        Assert.Null(endpoint.Port);
        foreach (var name in new[] { "preprocessing", "postprocessing" })
        {
            Assert.DoesNotContain(models.Default.Resource<ProjectResource>(name).Annotations.OfType<EndpointAnnotation>(), e => e.Name == "grpc");
        }
    }

    [Fact]
    public void Build_Gateway_ReferencesAndWaitsForTheThreeServices()
    {
        var gateway = models.Default.Resource<ProjectResource>("gateway");

        Assert.Equal(Services.Order(), References(gateway).Order());
        Assert.Equal(Services.Order(), WaitsFor(gateway).Order());
    }

    [Theory]
    [InlineData("preprocessing")]
    [InlineData("postprocessing")]
    public void Build_PreAndPostprocessing_ReferenceAndWaitForInference(string name)
    {
        var service = models.Default.Resource<ProjectResource>(name);

        Assert.Equal(["inference"], References(service));
        Assert.Equal(["inference"], WaitsFor(service));
    }

    [Fact]
    public void Build_Defaults_NoRedis()
    {
        Assert.Empty(models.Default.Resources.OfType<RedisServerResource>());
        Assert.DoesNotContain(models.Default.Resources, r => r.Name == "redis");
        Assert.DoesNotContain("redis", References(models.Default.Resource<ProjectResource>("gateway")));
    }

    [Theory]
    [InlineData(nameof(ApplicationModels.TwoGateways))]
    [InlineData(nameof(ApplicationModels.RedisPolicy))]
    public void Build_SharedRateLimitCounts_RedisServerTheGatewayReferencesAndWaitsFor(string model)
    {
        var builder = models[model];

        var redis = Assert.Single(builder.Resources.OfType<RedisServerResource>());
        Assert.Equal("redis", redis.Name);
        var gateway = builder.Resource<ProjectResource>("gateway");
        Assert.Contains("redis", References(gateway));
        Assert.Contains("redis", WaitsFor(gateway));
        Assert.All(Services, name => Assert.DoesNotContain("redis", References(builder.Resource<ProjectResource>(name))));
    }

    [Fact]
    public void Build_Gateway_OnlyItHasTheGatewayRoleAndTheTestPredictionCommand()
    {
        var gateway = models.Default.Resource<ProjectResource>("gateway");

        Assert.True(gateway.IsGateway());
        Assert.Contains(gateway.Annotations.OfType<ResourceCommandAnnotation>(), c => c.Name == GatewayResourceExtensions.TestPredictionCommand);
        foreach (var name in Services)
        {
            var service = models.Default.Resource<ProjectResource>(name);
            Assert.False(service.IsGateway(), name);
            Assert.DoesNotContain(service.Annotations.OfType<ResourceCommandAnnotation>(), c => c.Name == GatewayResourceExtensions.TestPredictionCommand);
        }
    }

    [Fact]
    public void Build_Inference_OnlyItServesTheModelRepositoryAndHasAStartupProbe()
    {
        var inference = models.Default.Resource<ProjectResource>("inference");

        var repository = Assert.Single(inference.Annotations.OfType<ModelRepositoryAnnotation>());
        Assert.Equal(Path.Combine(AppHostPaths.Root, "models"), repository.LocalPath);
        var startup = Assert.Single(Probes(inference), p => p.Type == ProbeType.Startup);
        Assert.Equal("/health", startup.Path);
        // Five minutes to load the models, probed every five seconds.
        Assert.Equal(300, startup.PeriodSeconds * startup.FailureThreshold);
        foreach (var name in new[] { "gateway", "preprocessing", "postprocessing" })
        {
            var other = models.Default.Resource<ProjectResource>(name);
            Assert.Empty(other.Annotations.OfType<ModelRepositoryAnnotation>());
            Assert.DoesNotContain(Probes(other), p => p.Type == ProbeType.Startup);
        }
    }

    [Fact]
    public void Build_EveryProject_ReadinessHealthAndLivenessAlive()
    {
        foreach (var project in models.Default.Resources.OfType<ProjectResource>())
        {
            var probes = Probes(project);
            Assert.Equal("/health", Assert.Single(probes, p => p.Type == ProbeType.Readiness).Path);
            Assert.Equal("/alive", Assert.Single(probes, p => p.Type == ProbeType.Liveness).Path);
            // The gateway answers them on its management endpoint alone; every other service beside its API.
            var endpoint = project.Name == "gateway" ? "management" : "http";
            Assert.All(probes, p => Assert.Equal(endpoint, p.EndpointReference.EndpointName));
            Assert.NotNull(project.Annotations.OfType<ComputeResources>().SingleOrDefault());
        }
    }

    [Theory]
    [InlineData(nameof(ApplicationModels.Default))]
    [InlineData(nameof(ApplicationModels.Scaled))]
    [InlineData(nameof(ApplicationModels.TwoGateways))]
    public void Build_Gateway_AnInternalManagementEndpointItsOwnSettingNames(string model)
    {
        var gateway = models[model].Resource<ProjectResource>("gateway");

        var endpoint = Endpoint(gateway, "management");

        Assert.False(endpoint.IsExternal);
        Assert.Equal("http", endpoint.UriScheme);
        // A port DCP picks (the publisher tests see it given to the gateway as Gateway__ManagementPort).
        Assert.Null(endpoint.Port);
        Assert.True(Endpoint(gateway, "http").IsExternal);
        Assert.True(Endpoint(gateway, "grpc").IsExternal);
        foreach (var name in Services)
        {
            Assert.DoesNotContain(models[model].Resource<ProjectResource>(name).Annotations.OfType<EndpointAnnotation>(), e => e.Name == "management");
        }
    }

    private static int Replicas(ProjectResource project) =>
        project.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;

    private static EndpointAnnotation HttpEndpoint(ProjectResource project) => Endpoint(project, "http");

    private static EndpointAnnotation Endpoint(ProjectResource project, string name) =>
        project.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == name);

    private static List<string> References(IResource resource) =>
        [.. resource.Annotations.OfType<ResourceRelationshipAnnotation>().Where(r => r.Type == "Reference").Select(r => r.Resource.Name).Distinct()];

    private static List<string> WaitsFor(IResource resource) =>
        [.. resource.Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name).Distinct()];

    private static List<EndpointProbeAnnotation> Probes(IResource resource) =>
        [.. resource.Annotations.OfType<EndpointProbeAnnotation>()];
}
