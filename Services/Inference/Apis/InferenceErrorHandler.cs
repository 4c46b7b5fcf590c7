using Microsoft.AspNetCore.Diagnostics;

namespace MlPlatform.Inference.Apis;

public static class InferenceErrorHandler
{
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
