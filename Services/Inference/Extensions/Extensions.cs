using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlPlatform.Inference.Apis;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Grpc;
using MlPlatform.Inference.Repository;

namespace MlPlatform.Inference.Extensions;

public static class Extensions
{
    // A gRPC message goes in a frame: a compression flag and a 4-byte length before it.
    private const int GrpcFrameHeaderBytes = 5;

    public static IHostApplicationBuilder AddInferenceServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceProtocolOptions>()
            .BindConfiguration(InferenceProtocolOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<ModelRepositoryOptions>()
            .BindConfiguration(ModelRepositoryOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ModelRepositoryOptions>, ValidateModelRepositoryOptions>();

        builder.Services.AddOptions<GrpcOptions>()
            .BindConfiguration(GrpcOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddGrpc();
        // The only gRPC service here: its methods come from GrpcMethodProvider instead of the generated binder, so
        // that a request that does not parse is INVALID_ARGUMENT rather than UNKNOWN.
        builder.Services.RemoveAll(typeof(IServiceMethodProvider<>));
        builder.Services.AddSingleton<IServiceMethodProvider<GrpcInferenceService>, GrpcMethodProvider>();
        builder.Services.AddOptions<GrpcServiceOptions>()
            .Configure<IOptions<GrpcOptions>>((service, grpc) => service.MaxReceiveMessageSize = grpc.Value.MaxGrpcMessageBytes);

        var configuration = builder.Configuration;
        builder.Services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<InferenceProtocolOptions>, IOptions<GrpcOptions>>((kestrel, protocol, grpc) =>
            {
                // Our own reader answers 413 in the protocol's error format, gRPC RESOURCE_EXHAUSTED from the message's
                // length prefix; Kestrel's limit, for the whole server, only backs up the larger of the two.
                kestrel.Limits.MaxRequestBodySize = Math.Max(protocol.Value.MaxRequestBodyBytes, (long)grpc.Value.MaxGrpcMessageBytes + GrpcFrameHeaderBytes) + 1;
                if (grpc.Value.GrpcPort is { } port)
                {
                    GrpcListener.Listen(kestrel, configuration, port);
                }
            });

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<ModelRepository>();
        builder.Services.AddHostedService<ModelRepositoryLoader>();
        builder.Services.AddHealthChecks().AddCheck<ModelsReadyHealthCheck>("models");

        return builder;
    }
}
