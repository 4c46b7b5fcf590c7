using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Grpc;

public static class GrpcExtensions
{
    /// <summary>
    /// The gRPC port, from <c>Gateway:GrpcPort</c>: routed apart from the REST addresses, and answering the gateway's own
    /// refusals there as gRPC statuses. Kestrel listens on it with the other ports (the Server folder's <c>GatewayListeners</c>).
    /// </summary>
    public static IHostApplicationBuilder AddGrpcPort(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GrpcOptions>()
            .BindConfiguration(GrpcOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<GrpcOptions>, ValidateGrpcOptions>();

        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, GrpcPortMatcherPolicy>());
        // The problem details service asks its writers in the order they were added, and the default one takes any
        // request without an Accept header, as gRPC calls are: this one goes first.
        services.Insert(0, ServiceDescriptor.Singleton<IProblemDetailsWriter, GrpcProblemDetailsWriter>());
        return builder;
    }
}
