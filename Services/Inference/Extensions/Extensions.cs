using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MlPlatform.Inference.Apis;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Repository;

namespace MlPlatform.Inference.Extensions;

public static class Extensions
{
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

        builder.Services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<InferenceProtocolOptions>>((kestrel, protocol) =>
                // Our own reader answers 413 in the protocol's error format; Kestrel's limit only backs it up.
                kestrel.Limits.MaxRequestBodySize = protocol.Value.MaxRequestBodyBytes + 1);

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<ModelRepository>();
        builder.Services.AddHostedService<ModelRepositoryLoader>();
        builder.Services.AddHealthChecks().AddCheck<ModelsReadyHealthCheck>("models");

        return builder;
    }
}
