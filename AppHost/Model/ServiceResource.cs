namespace MlPlatform.AppHost.Model;

/// <summary>One service of the application: a .NET project run as one or more replicas.</summary>
public sealed class ServiceResource
{
    private readonly List<ServiceResource> _references = [];
    private readonly List<ServiceResource> _waitsFor = [];
    private readonly List<ExecutableResource> _connections = [];
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    internal ServiceResource(string name, string projectDirectory, string assemblyName)
    {
        Name = name;
        ProjectDirectory = projectDirectory;
        AssemblyName = assemblyName;
    }

    /// <summary>Kebab-case, DNS-safe: it names processes, environment variables and Kubernetes objects.</summary>
    public string Name { get; }

    /// <summary>The project folder, relative to the repository root, for example <c>Services/Inference</c>.</summary>
    public string ProjectDirectory { get; }

    public string AssemblyName { get; }

    public int Replicas { get; private set; } = 1;

    /// <summary>A fixed port for the first replica, for the one entry clients know; null picks a free port.</summary>
    public int? Port { get; private set; }

    /// <summary>Whether clients outside the application reach this service (the gateway).</summary>
    public bool IsExternal { get; private set; }

    public string? HealthCheckPath { get; private set; }

    /// <summary>Services whose addresses this one gets as <c>services__{name}__http__{i}</c>.</summary>
    public IReadOnlyList<ServiceResource> References => _references;

    /// <summary>Executables whose addresses this one gets as <c>ConnectionStrings__{name}</c>; they are up before it starts.</summary>
    public IReadOnlyList<ExecutableResource> Connections => _connections;

    /// <summary>What a cluster reserves for and allows each replica; null leaves the publisher's defaults.</summary>
    public ComputeResources? Compute { get; private set; }

    /// <summary>How long a replica may take to become healthy the first time (loading models); published as a startup probe.</summary>
    public TimeSpan? SlowStart { get; private set; }

    /// <summary>Services that must be healthy before this one starts.</summary>
    public IReadOnlyList<ServiceResource> WaitsFor => _waitsFor;

    public IReadOnlyDictionary<string, string> Environment => _environment;

    public ServiceResource WithReplicas(int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        Replicas = replicas;
        return this;
    }

    public ServiceResource WithHttpEndpoint(int? port)
    {
        Port = port;
        return this;
    }

    public ServiceResource WithExternalHttpEndpoints()
    {
        IsExternal = true;
        return this;
    }

    public ServiceResource WithHttpHealthCheck(string path)
    {
        HealthCheckPath = path;
        return this;
    }

    public ServiceResource WithReference(ServiceResource service)
    {
        _references.Add(service);
        return this;
    }

    /// <summary>Gives this service the executable's connection string, the way Aspire passes a Redis reference.</summary>
    public ServiceResource WithReference(ExecutableResource executable)
    {
        _connections.Add(executable);
        return this;
    }

    public ServiceResource WithComputeResources(ComputeResources compute)
    {
        Compute = compute;
        return this;
    }

    public ServiceResource WithSlowStart(TimeSpan upTo)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(upTo, TimeSpan.Zero);
        SlowStart = upTo;
        return this;
    }

    public ServiceResource WaitFor(ServiceResource service)
    {
        _waitsFor.Add(service);
        return this;
    }

    public ServiceResource WithEnvironment(string name, string value)
    {
        _environment[name] = value;
        return this;
    }
}
