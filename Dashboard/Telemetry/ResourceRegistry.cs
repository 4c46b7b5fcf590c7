using System.Collections.Concurrent;
using MlPlatform.Dashboard.Otlp;
using Opentelemetry.Proto.Resource.V1;

namespace MlPlatform.Dashboard.Telemetry;

/// <summary>
/// One shared <see cref="TelemetryResource"/> per (service, instance), so every log, span and
/// metric stream of a process points at the same object. Bounded: past the cap, new identities
/// still get a resource but are not listed.
/// </summary>
internal sealed class ResourceRegistry(StringPool pool, int maxResources = 10_000)
{
    private readonly ConcurrentDictionary<(string Service, string Instance), TelemetryResource> _resources = new();
    private int _count;

    public TelemetryResource Resolve(Resource? resource)
    {
        var (service, instance) = OtlpValues.ReadIdentity(resource);
        if (_resources.TryGetValue((service, instance), out var known))
        {
            return known;
        }

        var created = new TelemetryResource(pool.Intern(service), pool.Intern(instance));
        if (Volatile.Read(ref _count) >= maxResources)
        {
            return created;
        }

        var shared = _resources.GetOrAdd((service, instance), created);
        if (ReferenceEquals(shared, created))
        {
            Interlocked.Increment(ref _count);
        }

        return shared;
    }

    /// <summary>Ordered by service, then instance.</summary>
    public IReadOnlyList<TelemetryResource> GetAll()
    {
        var list = new List<TelemetryResource>(_resources.Values);
        list.Sort(static (a, b) =>
        {
            var byService = string.CompareOrdinal(a.ServiceName, b.ServiceName);
            return byService != 0 ? byService : string.CompareOrdinal(a.InstanceId, b.InstanceId);
        });
        return list;
    }

    /// <summary>The filter every query uses: a service name or an instance id, ignoring case; null matches all.</summary>
    public static bool Matches(TelemetryResource resource, string? filter) =>
        string.IsNullOrEmpty(filter)
        || string.Equals(resource.ServiceName, filter, StringComparison.OrdinalIgnoreCase)
        || string.Equals(resource.InstanceId, filter, StringComparison.OrdinalIgnoreCase);
}
