using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Grpc;

/// <summary>Marks the endpoints the gRPC port serves: the gRPC route's, and no other.</summary>
public sealed class GrpcPortEndpointMetadata
{
    public static GrpcPortEndpointMetadata Instance { get; } = new();

    private GrpcPortEndpointMetadata()
    {
    }
}

public static class GrpcPortEndpoints
{
    /// <summary>Serves the endpoints of <paramref name="builder"/> on the gRPC port, and only there.</summary>
    public static TBuilder OnGrpcPort<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(GrpcPortEndpointMetadata.Instance);

    public static bool IsGrpcEndpoint(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<GrpcPortEndpointMetadata>() is not null;
}

/// <summary>
/// Routing by the port a request came in on: on the gRPC port only endpoints marked <see cref="GrpcPortEndpointMetadata"/>
/// match, on every other port only the others. The REST port then never answers a gRPC method (404, as for any path it
/// does not serve), and the gRPC port never serves REST, health, metrics or documents: a request there that matches no
/// gRPC endpoint has none, and gets UNIMPLEMENTED (<see cref="GrpcProblemDetailsWriter"/>).
/// </summary>
/// <remarks>
/// Routing's own host matching (<c>RequireHost("*:8081")</c>) reads the Host header, which names the port the client
/// dialled: DCP's proxy, a Kubernetes Service or an Ingress in front of the gateway each have ports of their own.
/// </remarks>
internal sealed class GrpcPortMatcherPolicy(IOptions<GrpcOptions> options) : MatcherPolicy, IEndpointSelectorPolicy
{
    // Read when routing builds its matcher, on the first request, long after the options were validated.
    private readonly int? _grpcPort = options.Value.GrpcPort;

    public override int Order => 0;

    /// <summary>Without a gRPC port no endpoint is the gRPC port's, and routing skips this policy altogether.</summary>
    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => _grpcPort is not null;

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var onGrpcPort = httpContext.Connection.LocalPort == _grpcPort;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i) && (candidates[i].Endpoint.Metadata.GetMetadata<GrpcPortEndpointMetadata>() is not null) != onGrpcPort)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
