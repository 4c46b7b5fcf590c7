using System.Text.RegularExpressions;

namespace MlPlatform.AppHost.Model;

/// <summary>The whole application: its services in the order they may start.</summary>
public sealed partial class ApplicationModel
{
    private readonly List<ServiceResource> _services = [];

    /// <summary>Services with every service they wait for before them.</summary>
    public IReadOnlyList<ServiceResource> Services => _services;

    public ServiceResource this[string name] =>
        _services.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"The application has no service '{name}'.");

    [GeneratedRegex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    public ServiceResource AddProject(string name, string projectDirectory, string assemblyName)
    {
        if (!Dns1123Label().IsMatch(name))
        {
            throw new ArgumentException($"Service name '{name}' must be a DNS-1123 label: lower-case letters, digits and '-', starting with a letter.", nameof(name));
        }

        if (_services.Any(s => s.Name == name))
        {
            throw new ArgumentException($"The application already has a service '{name}'.", nameof(name));
        }

        var service = new ServiceResource(name, projectDirectory, assemblyName);
        _services.Add(service);
        return service;
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
