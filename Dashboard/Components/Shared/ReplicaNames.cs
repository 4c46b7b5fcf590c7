using MlPlatform.Dashboard.Resources;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>
/// Telemetry names a process by its <c>service.instance.id</c> (<c>inference-kqzmwbte</c>); people
/// know it by its replica name (<c>inference-0</c>). This maps one to the other while the AppHost
/// still has that process, and falls back to the instance id after.
/// </summary>
public sealed class ReplicaNames
{
    private readonly Dictionary<string, string> _byInstance;

    private ReplicaNames(Dictionary<string, string> byInstance)
    {
        _byInstance = byInstance;
    }

    public static ReplicaNames From(IResourceSource source)
    {
        var byInstance = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in source.GetResources())
        {
            if (resource.InstanceId is { } instance)
            {
                byInstance.TryAdd(instance, resource.Name);
            }
        }

        return new ReplicaNames(byInstance);
    }

    public string NameOf(TelemetryResource resource) =>
        _byInstance.TryGetValue(resource.InstanceId, out var name) ? name : resource.InstanceId;

    /// <summary>A chart line named after an instance (<c>inference-kqzmwbte rate/s</c>), renamed after its replica.</summary>
    public MetricLine Relabel(MetricLine line)
    {
        foreach (var (instance, name) in _byInstance)
        {
            if (line.Label.StartsWith(instance, StringComparison.Ordinal))
            {
                return line with { Label = name + line.Label[instance.Length..] };
            }
        }

        return line;
    }

    /// <summary>The resource filter's entries: everything, each service, then each of its instances.</summary>
    public IReadOnlyList<Choice> FilterChoices(IReadOnlyList<TelemetryResource> resources)
    {
        var choices = new List<Choice> { new("", "All") };
        foreach (var service in resources.GroupBy(r => r.ServiceName, StringComparer.Ordinal))
        {
            choices.Add(new Choice(service.Key, service.Key));
            choices.AddRange(service.Select(instance => new Choice(instance.InstanceId, $"\u00a0\u00a0{NameOf(instance)}")));
        }

        return choices;
    }
}
