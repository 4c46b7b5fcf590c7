using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Routes;
using Yarp.ReverseProxy.Model;

namespace MlPlatform.Gateway.Kong;

/// <summary>Marks the endpoints that answer a request no route of the declarative configuration matched, as Kong does.</summary>
internal sealed class KongUnmatchedMetadata
{
    public static KongUnmatchedMetadata Instance { get; } = new();

    private KongUnmatchedMetadata()
    {
    }
}

/// <summary>
/// Routes by the declarative configuration: Kong's router (<see cref="KongRouter"/>) picks the route, and of the
/// endpoints a path reaches only that route's stays valid: its YARP route, the predict endpoint when its service is
/// the predict pipeline, else the endpoint that answers "no Route matched". Every YARP route of a configuration has
/// the same catch-all pattern, so routing finds them all, and this decides; the gateway's own endpoints (the API
/// document, the development Try it page) and the port policies' decisions are left as they are.
/// </summary>
internal sealed class KongRouteMatcherPolicy(KongConfigStore store, IOptions<GrpcOptions> grpcOptions) : MatcherPolicy, IEndpointSelectorPolicy
{
    private readonly int? _grpcPort = grpcOptions.Value.GrpcPort;

    // After the port policies, which leave valid only the endpoints of the port a request came in on.
    public override int Order => 100;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        if (!store.IsEnabled)
        {
            return false;
        }

        foreach (var endpoint in endpoints)
        {
            if (KindOf(endpoint) != EndpointKind.Other)
            {
                return true;
            }
        }

        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var routed = false;
        for (var i = 0; i < candidates.Count && !routed; i++)
        {
            routed = candidates.IsValidCandidate(i) && KindOf(candidates[i].Endpoint) != EndpointKind.Other;
        }

        // The management port: the port policy left none of the configuration's endpoints valid there.
        if (!routed)
        {
            return Task.CompletedTask;
        }

        var feature = httpContext.Features.Get<KongRequestFeature>();
        if (feature is null)
        {
            var grpc = httpContext.Connection.LocalPort == _grpcPort;
            var configuration = store.Current;
            var request = httpContext.Request;
            feature = new KongRequestFeature(configuration, configuration.Router.Match(request, grpc), grpc, request.Path.Value ?? "/");
            httpContext.Features.Set(feature);
        }

        var service = feature.Route?.Service;
        var wanted = service is { IsPredict: false } ? (feature.Grpc ? service.GrpcRouteId : service.HttpRouteId) : null;
        var predict = service is { IsPredict: true } && !feature.Grpc;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }

            var endpoint = candidates[i].Endpoint;
            var valid = KindOf(endpoint) switch
            {
                EndpointKind.Proxied => string.Equals(endpoint.Metadata.GetMetadata<RouteModel>()!.Config.RouteId, wanted, StringComparison.Ordinal),
                EndpointKind.Predict => predict,
                // Ordered last, so it answers only when nothing better is left.
                EndpointKind.Unmatched => wanted is null && (endpoint.Metadata.GetMetadata<GrpcPortEndpointMetadata>() is not null) == feature.Grpc,
                _ => true,
            };
            if (!valid)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Whether <paramref name="endpoint"/> serves a route of the configuration: a proxied route's, or the predict pipeline.</summary>
    public static bool IsRouted(Endpoint? endpoint) => endpoint is not null && KindOf(endpoint) is EndpointKind.Proxied or EndpointKind.Predict;

    private static EndpointKind KindOf(Endpoint endpoint)
    {
        var metadata = endpoint.Metadata;
        if (metadata.GetMetadata<RouteModel>() is { } route)
        {
            return KongConfiguration.IsKongId(route.Config.RouteId) ? EndpointKind.Proxied : EndpointKind.Other;
        }

        if (metadata.GetMetadata<KongUnmatchedMetadata>() is not null)
        {
            return EndpointKind.Unmatched;
        }

        return metadata.GetMetadata<RouteGroupMetadata>()?.Name == GatewayRoutes.Predict ? EndpointKind.Predict : EndpointKind.Other;
    }

    private enum EndpointKind
    {
        Other,
        Proxied,
        Predict,
        Unmatched,
    }
}
