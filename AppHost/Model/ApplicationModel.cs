using System.Text.RegularExpressions;

namespace MlPlatform.AppHost.Model;

/// <summary>The whole application: its services in the order they may start.</summary>
public sealed partial class ApplicationModel
{
    private readonly List<ServiceResource> _services = [];
    private readonly List<ExecutableResource> _executables = [];

    /// <summary>Services with every service they wait for before them.</summary>
    public IReadOnlyList<ServiceResource> Services => _services;

    /// <summary>Programs that are not .NET projects (Redis); they depend on nothing, so they start first.</summary>
    public IReadOnlyList<ExecutableResource> Executables => _executables;

    public ServiceResource this[string name] =>
        _services.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"The application has no service '{name}'.");

    [GeneratedRegex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    public ServiceResource AddProject(string name, string projectDirectory, string assemblyName)
    {
        EnsureNewName(name);
        var service = new ServiceResource(name, projectDirectory, assemblyName);
        _services.Add(service);
        return service;
    }

    /// <summary>
    /// A Redis server: <c>redis-server</c> from PATH on a free loopback port, without persistence,
    /// since what it holds (rate-limit counts) lives for seconds to hours.
    /// </summary>
    public ExecutableResource AddRedis(string name)
    {
        EnsureNewName(name);
        var redis = new ExecutableResource(
            name,
            "redis-server",
            port => ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            targetPort: 6379,
            image: "redis:7-alpine",
            installHint: "install it with: apt-get install redis-server");
        _executables.Add(redis);
        return redis;
    }

    private void EnsureNewName(string name)
    {
        if (!Dns1123Label().IsMatch(name))
        {
            throw new ArgumentException($"Service name '{name}' must be a DNS-1123 label: lower-case letters, digits and '-', starting with a letter.", nameof(name));
        }

        if (_services.Any(s => s.Name == name) || _executables.Any(e => e.Name == name))
        {
            throw new ArgumentException($"The application already has a service '{name}'.", nameof(name));
        }
    }

    /// <summary>The services ordered so each comes after every service it waits for or references.</summary>
    /// <exception cref="InvalidOperationException">The dependencies form a cycle.</exception>
    public IReadOnlyList<ServiceResource> InStartOrder()
    {
        var ordered = new List<ServiceResource>(_services.Count);
        var visiting = new HashSet<ServiceResource>();
        void Visit(ServiceResource service)
        {
            if (ordered.Contains(service))
            {
                return;
            }

            if (!visiting.Add(service))
            {
                throw new InvalidOperationException($"Service '{service.Name}' depends on itself through {string.Join(" -> ", visiting.Select(v => v.Name))}.");
            }

            foreach (var dependency in service.WaitsFor.Concat(service.References))
            {
                Visit(dependency);
            }

            visiting.Remove(service);
            ordered.Add(service);
        }

        foreach (var service in _services)
        {
            Visit(service);
        }

        return ordered;
    }
}
