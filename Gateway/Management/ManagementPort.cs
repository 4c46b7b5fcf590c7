using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Management;

/// <summary>Marks the endpoints the management port serves: the gateway's health, liveness and metrics, and no other.</summary>
public sealed class ManagementPortEndpointMetadata
{
    public static ManagementPortEndpointMetadata Instance { get; } = new();

    private ManagementPortEndpointMetadata()
    {
    }
}

public static class ManagementPortEndpoints
{
    /// <summary>Serves the endpoints of <paramref name="builder"/> on the management port, and only there.</summary>
    public static TBuilder OnManagementPort<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ManagementPortEndpointMetadata.Instance);
}

/// <summary>
/// Routing by the port a request came in on, as <see cref="Grpc.GrpcPortMatcherPolicy"/> does for the gRPC port: on
/// the management port only endpoints marked <see cref="ManagementPortEndpointMetadata"/> match, on every other port
/// only the others. A request that then matches nothing gets the status code pages' 404, as any unknown path does: the
/// public port does not give away that <c>/metrics</c> exists, and the management port forwards nothing, not even with a
/// valid key.
/// </summary>
/// <remarks>
/// By the connection's local port, not the Host header, which names whatever port the client dialled (a kubelet's probe
/// names the pod's IP and port, a Service or DCP's proxy its own).
/// </remarks>
internal sealed class ManagementPortMatcherPolicy(IOptions<ManagementOptions> options) : MatcherPolicy, IEndpointSelectorPolicy
{
    // Read when routing builds its matcher, on the first request, long after the options were validated.
    private readonly int? _managementPort = options.Value.ManagementPort;

    public override int Order => 0;

    /// <summary>
    /// Asked for each set of endpoints a path can reach: with a management port, every set, since the public endpoints
    /// must not match there either; without one, the sets that hold a management endpoint.
    /// </summary>
    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        if (_managementPort is not null)
        {
            return true;
        }

        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<ManagementPortEndpointMetadata>() is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Without a management port, no request comes in on it: its endpoints match on no port at all.</summary>
    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var onManagementPort = httpContext.Connection.LocalPort == _managementPort;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i) && (candidates[i].Endpoint.Metadata.GetMetadata<ManagementPortEndpointMetadata>() is not null) != onManagementPort)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
