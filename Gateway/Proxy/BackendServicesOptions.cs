using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// The replicas of each backend service, read from service discovery's configuration keys
/// <c>services:{name}:http:{index}</c>, the keys .NET Aspire and our AppHost set.
/// </summary>
public sealed class BackendServicesOptions
{
    /// <summary>Each service's replica addresses, in index order.</summary>
    public Dictionary<string, IReadOnlyList<ReplicaAddress>> Replicas { get; } = new(StringComparer.Ordinal);

    public static string KeyOf(string service, int index) => $"services:{service}:http:{index}";

    /// <summary>Reads the replicas of every backend service; validation decides whether they are usable.</summary>
    public void ReadFrom(IConfiguration configuration)
    {
        foreach (var service in BackendServices.All)
        {
            Replicas[service] = configuration.GetSection($"services:{service}:http").GetChildren()
                .Select(entry => new ReplicaAddress(entry.Path, entry.Value))
                .ToArray();
        }
    }
}

/// <summary>One configured replica: the key it came from, for error messages, and its value.</summary>
public sealed record ReplicaAddress(string Key, string? Value)
{
    public Uri? Uri =>
        Uri.TryCreate(Value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;
}
