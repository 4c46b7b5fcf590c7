using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using MlPlatform.Inference.Apis;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Repository;

namespace MlPlatform.Inference.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddInferenceServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<InferenceOptions>, ValidateInferenceOptions>();

        builder.Services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>()
            .Configure<IOptions<InferenceOptions>>((kestrel, inference) =>
                // Our own reader answers 413 in the protocol's error format; Kestrel's limit only backs it up.
                kestrel.Limits.MaxRequestBodySize = inference.Value.MaxRequestBodyBytes + 1);

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<ModelRepository>();
        builder.Services.AddHostedService<ModelRepositoryLoader>();
        builder.Services.AddHealthChecks().AddCheck<ModelsReadyHealthCheck>("models");

        return builder;
    }

    /// <summary>Answers anything unexpected in the protocol's error format, never with a stack trace.</summary>
    public static IApplicationBuilder UseInferenceErrorHandler(this IApplicationBuilder app) =>
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
            ExceptionHandler = async context =>
            {
                var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                var message = exception is BadHttpRequestException bad ? bad.Message : "internal error; the server log has the details";
                await InferenceProtocolApi.Error(context.Response.StatusCode, message).ExecuteAsync(context).ConfigureAwait(false);
            },
        });
}
