namespace MlPlatform.AppHost.Model;

/// <summary>One service of the application: a .NET project run as one or more replicas.</summary>
public sealed class ServiceResource
{
    private readonly List<ServiceResource> _references = [];
    private readonly List<ServiceResource> _waitsFor = [];
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
