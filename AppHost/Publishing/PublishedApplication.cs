using System.Globalization;
using MlPlatform.AppHost.Annotations;
using MlPlatform.AppHost.Redis;

namespace MlPlatform.AppHost.Publishing;

/// <summary>A probe as a cluster runs it, read from Aspire's <see cref="EndpointProbeAnnotation"/>.</summary>
internal sealed record PublishedProbe(string Path, string EndpointName, int PeriodSeconds, int TimeoutSeconds, int FailureThreshold);

/// <summary>One endpoint of a service as a cluster has it: the port its container listens on and its Service exposes, under the endpoint's name.</summary>
internal sealed record PublishedEndpoint(string Name, int Port)
{
    /// <summary>Whether it speaks HTTP/2 without TLS only, as the gRPC endpoints do.</summary>
    public bool IsH2c => Name == PublishedApplication.GrpcEndpoint;
}

/// <summary>One project of the application as a cluster runs it.</summary>
internal sealed class PublishedService
{
    public required string Name { get; init; }

    /// <summary>The project folder relative to the repository root, for example <c>Services/Inference</c>.</summary>
    public required string ProjectDirectory { get; init; }

    public required string AssemblyName { get; init; }

    public required int Replicas { get; init; }

    public required bool IsGateway { get; init; }

    public ComputeResources? Compute { get; init; }

    public bool ServesModels { get; init; }

    /// <summary>The kong.yml on this machine that configures it (the gateway), published as a Secret mounted as a file.</summary>
    public string? DeclarativeConfig { get; init; }

    public PublishedProbe? Readiness { get; init; }

    public PublishedProbe? Liveness { get; init; }

    public PublishedProbe? Startup { get; init; }

    /// <summary>
    /// Its endpoints, <c>http</c> first: every service has that one, inference and the gateway also <c>grpc</c>, the
    /// gateway also <c>management</c>.
    /// </summary>
    public required IReadOnlyList<PublishedEndpoint> Endpoints { get; init; }

    public PublishedEndpoint? Endpoint(string name) => Endpoints.FirstOrDefault(e => e.Name == name);

    /// <summary>Where Prometheus scrapes its <c>/metrics</c>: the management endpoint where it has one (the gateway), else <c>http</c>.</summary>
    public PublishedEndpoint MetricsEndpoint => Endpoint(PublishedApplication.ManagementEndpoint) ?? Endpoints[0];

    /// <summary>The endpoints its clients call: every one but the management endpoint, which is for probes and scrapes.</summary>
    public IReadOnlyList<PublishedEndpoint> TrafficEndpoints => [.. Endpoints.Where(e => e.Name != PublishedApplication.ManagementEndpoint)];

    /// <summary>The services whose addresses it gets.</summary>
    public List<PublishedService> References { get; } = [];

    /// <summary>The executables (Redis) whose connection strings it gets, as secrets.</summary>
    public List<PublishedExecutable> Connections { get; } = [];

    /// <summary>Its settings with cluster addresses (<c>http://inference:8080</c>) where a local run has loopback ports.</summary>
    public SortedDictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);
}

/// <summary>A program of the application that is not a .NET project (Redis), run from its public image.</summary>
internal sealed record PublishedExecutable(string Name, int TargetPort, string Image)
{
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture, $"{Name}:{TargetPort}");
}

/// <summary>
/// Aspire's application model as the Kubernetes publisher needs it: project resources with their replica
/// annotations, probes, compute annotations, and environment evaluated for publish, every endpoint reference
/// turned into the cluster address of the Service that stands for the resource.
/// </summary>
internal sealed class PublishedApplication
{
    /// <summary>Every .NET service listens here in its container, as the aspnet image's <c>HTTP_PORTS</c> default has it.</summary>
    public const int HttpPort = 8080;

    public const string HttpEndpoint = "http";

    /// <summary>The endpoint of the Open Inference Protocol over gRPC (h2c), inference's and the gateway's.</summary>
    public const string GrpcEndpoint = "grpc";

    /// <summary>Where a service with a gRPC endpoint listens for it in its container; the port KServe gives gRPC.</summary>
    public const int GrpcPort = 8081;

    /// <summary>The gateway's own <c>/health</c>, <c>/alive</c> and <c>/metrics</c>, as Kong's status listener.</summary>
    public const string ManagementEndpoint = "management";

    /// <summary>Where the gateway listens for its management endpoint in its container: the port its launch profile gives it.</summary>
    public const int ManagementPort = 8090;

    /// <summary>The container port of each endpoint name the application uses.</summary>
    private static readonly Dictionary<string, int> EndpointPorts = new(StringComparer.Ordinal)
    {
        [HttpEndpoint] = HttpPort,
        [GrpcEndpoint] = GrpcPort,
        [ManagementEndpoint] = ManagementPort,
    };

    // What Aspire adds for a local run or for its own publishers; a cluster sets these itself (ServiceManifests).
    private static readonly string[] LocalOnlyPrefixes = ["OTEL_", "ASPNETCORE_", "DOTNET_", "HTTP_PORTS", "HTTPS_PORTS", "LOGGING__CONSOLE"];

    public List<PublishedService> Services { get; } = [];

    public List<PublishedExecutable> Executables { get; } = [];

    public static async Task<PublishedApplication> ReadAsync(DistributedApplicationModel model, DistributedApplicationExecutionContext executionContext, string repositoryRoot, CancellationToken cancellationToken)
    {
        var application = new PublishedApplication();
        foreach (var redis in model.Resources.OfType<RedisServerResource>())
        {
            application.Executables.Add(new PublishedExecutable(redis.Name, RedisServerResource.ContainerPort, RedisServerResource.Image));
        }

        var projects = model.Resources.OfType<ProjectResource>().ToList();
        var services = new Dictionary<string, PublishedService>(StringComparer.Ordinal);
        foreach (var project in projects)
        {
            var projectPath = project.GetProjectMetadata().ProjectPath;
            var probes = project.Annotations.OfType<EndpointProbeAnnotation>().ToList();
            services[project.Name] = new PublishedService
            {
                Name = project.Name,
                ProjectDirectory = Path.GetRelativePath(repositoryRoot, Path.GetDirectoryName(projectPath)!).Replace('\\', '/'),
                AssemblyName = Path.GetFileNameWithoutExtension(projectPath),
                Replicas = project.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1,
                IsGateway = project.IsGateway(),
                Compute = project.Annotations.OfType<ComputeResources>().LastOrDefault(),
                ServesModels = project.Annotations.OfType<ModelRepositoryAnnotation>().Any(),
                DeclarativeConfig = project.Annotations.OfType<DeclarativeConfigAnnotation>().LastOrDefault()?.LocalPath,
                Readiness = Probe(probes, ProbeType.Readiness),
                Liveness = Probe(probes, ProbeType.Liveness),
                Startup = Probe(probes, ProbeType.Startup),
                Endpoints = Endpoints(project),
            };
        }

        foreach (var project in projects)
        {
            var service = services[project.Name];
            foreach (var (key, value) in await EnvironmentAsync(project, executionContext, cancellationToken).ConfigureAwait(false))
            {
                await application.AddSettingAsync(service, services, key, value, cancellationToken).ConfigureAwait(false);
            }

            application.Services.Add(service);
        }

        application.Services.Sort((a, b) => Depth(a).CompareTo(Depth(b)));
        return application;
    }

    private async Task AddSettingAsync(PublishedService service, Dictionary<string, PublishedService> services, string key, object value, CancellationToken cancellationToken)
    {
        if (key.StartsWith("services__", StringComparison.Ordinal))
        {
            // One address per endpoint of a service (services__{service}__{endpoint}__{index}): its Kubernetes Service
            // balances over the pods, as DCP's proxy does over replicas.
            var parts = key.Split("__");
            if (services.TryGetValue(parts[1], out var target) && parts.Length > 2 && target.Endpoint(parts[2]) is { } endpoint)
            {
                if (!service.References.Contains(target))
                {
                    service.References.Add(target);
                }

                service.Environment[$"services__{target.Name}__{endpoint.Name}__0"] = $"http://{target.Name}:{endpoint.Port}";
            }

            return;
        }

        if (key.StartsWith("ConnectionStrings__", StringComparison.Ordinal))
        {
            var name = key["ConnectionStrings__".Length..];
            if (Executables.FirstOrDefault(e => e.Name == name) is { } executable && !service.Connections.Contains(executable))
            {
                service.Connections.Add(executable);
            }

            return;
        }

        if (LocalOnlyPrefixes.Any(prefix => key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        // The port an endpoint's own variable names (Inference__GrpcPort): the container port it has in the cluster.
        if (value is EndpointReferenceExpression { Property: EndpointProperty.TargetPort } targetPort
            && targetPort.Endpoint.Resource.Name == service.Name
            && service.Endpoint(targetPort.Endpoint.EndpointName) is { } own)
        {
            service.Environment[key] = own.Port.ToString(CultureInfo.InvariantCulture);
            return;
        }

        // Aspire's endpoint variables ({NAME}_{ENDPOINT}) say again what services__ says.
        if (value is EndpointReference or EndpointReferenceExpression)
        {
            return;
        }

        if (await RenderAsync(value, cancellationToken).ConfigureAwait(false) is { } text)
        {
            service.Environment[key] = text;
        }
    }

    private static async Task<Dictionary<string, object>> EnvironmentAsync(ProjectResource project, DistributedApplicationExecutionContext executionContext, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, object>(StringComparer.Ordinal);
        var context = new EnvironmentCallbackContext(executionContext, project, environment, cancellationToken);
        foreach (var callback in project.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context).ConfigureAwait(false);
        }

        return environment;
    }

    private static async Task<string?> RenderAsync(object value, CancellationToken cancellationToken) => value switch
    {
        string text => text,
        ParameterResource parameter => parameter.Secret ? null : await parameter.GetValueAsync(cancellationToken).ConfigureAwait(false),
        IValueProvider provider => await provider.GetValueAsync(cancellationToken).ConfigureAwait(false),
        _ => value.ToString(),
    };

    /// <summary>The project's endpoints at the container ports of their names; a name the cluster has no port for stops the publish.</summary>
    private static PublishedEndpoint[] Endpoints(ProjectResource project)
    {
        var endpoints = project.Annotations.OfType<EndpointAnnotation>()
            .Select(endpoint => EndpointPorts.TryGetValue(endpoint.Name, out var port)
                ? new PublishedEndpoint(endpoint.Name, port)
                : throw new InvalidOperationException(
                    $"{project.Name}: endpoint '{endpoint.Name}' has no container port in a cluster; the publisher places {string.Join(", ", EndpointPorts.Keys)}."))
            .OrderBy(endpoint => endpoint.Port)
            .ToArray();
        return endpoints.Length > 0 && endpoints[0].Name == HttpEndpoint
            ? endpoints
            : throw new InvalidOperationException($"{project.Name} has no '{HttpEndpoint}' endpoint; its traffic is served there.");
    }

    private static PublishedProbe? Probe(List<EndpointProbeAnnotation> probes, ProbeType type) =>
        probes.LastOrDefault(p => p.Type == type) is { } probe
            ? new PublishedProbe(probe.Path, probe.EndpointReference.EndpointName, probe.PeriodSeconds, probe.TimeoutSeconds, probe.FailureThreshold)
            : null;

    private static int Depth(PublishedService service) =>
        service.References.Count == 0 ? 0 : 1 + service.References.Max(Depth);
}
