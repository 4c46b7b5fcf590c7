using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Gateway.Grpc;

public static class GrpcExtensions
{
    /// <summary>
    /// The gRPC port, from <c>Gateway:GrpcPort</c>: listened on beside the REST addresses, routed apart from them, and
    /// answering the gateway's own refusals there as gRPC statuses.
    /// </summary>
    public static IHostApplicationBuilder AddGrpcPort(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GrpcOptions>()
            .BindConfiguration(GrpcOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<GrpcOptions>, ValidateGrpcOptions>();

        var configuration = builder.Configuration;
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GrpcOptions>>((kestrel, grpc) =>
        {
            if (grpc.Value.GrpcPort is { } port)
            {
                Http2Port.ListenBeside(kestrel, configuration, port, $"{GrpcOptions.SectionName}:{nameof(GrpcOptions.GrpcPort)}");
            }
        });

        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, GrpcPortMatcherPolicy>());
        // The problem details service asks its writers in the order they were added, and the default one takes any
        // request without an Accept header, as gRPC calls are: this one goes first.
        services.Insert(0, ServiceDescriptor.Singleton<IProblemDetailsWriter, GrpcProblemDetailsWriter>());
        return builder;
    }
}
