using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Postprocessing.Diagnostics;
using MlPlatform.Postprocessing.Processing;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Postprocessing.Apis;

/// <summary>Turns Open Inference Protocol responses into KServe V1 predictions people read.</summary>
public static class PostprocessApi
{
    public static RouteGroupBuilder MapPostprocessApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/postprocess").WithTags("Postprocessing");

        api.MapPost("/{model}", PostprocessAsync)
            .WithName("Postprocess")
            .WithSummary("Labels, scores and top-k classes from a model's inference response, JSON or binary.");

        return api;
    }

    internal static async Task<Results<PooledBodyResult, ProblemHttpResult>> PostprocessAsync(
        string model,
        HttpContext context,
        ModelConfigClient configs,
        PostprocessPlans plans,
        IOptions<PostprocessingOptions> options,
        PostprocessingMetrics metrics,
        ILogger<PostprocessApiLogCategory> logger)
    {
        var outcome = await PostprocessCoreAsync(model, context, configs, plans, options.Value, metrics, logger).ConfigureAwait(false);
        // Only a name the inference service gave a config for: a client cannot add series by inventing names.
        context.TagModel(outcome.ModelKnown ? model : ModelMetricTag.Unknown);
        return outcome.Result;
    }

    private static async Task<Outcome> PostprocessCoreAsync(
        string model, HttpContext context, ModelConfigClient configs, PostprocessPlans plans, PostprocessingOptions options, PostprocessingMetrics metrics, ILogger logger)
    {
        var request = context.Request;
        if (!IsAcceptedContentType(request.ContentType))
        {
            return Refuse(logger, model, modelKnown: false, StatusCodes.Status415UnsupportedMediaType,
                $"content type '{request.ContentType}' is not accepted; send the inference response as {ProtocolParameters.JsonContentType}, "
                + $"or as {ProtocolParameters.BinaryContentType} with the {ProtocolParameters.HeaderContentLength} header, exactly as the inference service returned it");
        }

        PostprocessPlan plan;
        try
        {
            plan = plans.For(model, await configs.GetAsync(model, context.RequestAborted).ConfigureAwait(false));
        }
        catch (ModelConfigException exception)
        {
            var status = (int)exception.StatusCode;
            if (status < StatusCodes.Status500InternalServerError)
            {
                return Refuse(logger, model, modelKnown: false, status, exception.Message);
            }

            // The cause can carry an internal address, which stays in the log.
            PostprocessingLog.ConfigUnavailable(logger, model, status, exception.Message);
            return Refuse(logger, model, modelKnown: false, status,
                $"the config of model '{model}' could not be read from the inference service; retry later, and if it persists see the postprocessing service's log");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Aborted(model, modelKnown: false);
        }

        if (plan.Error is { } planError)
        {
            return Refuse(logger, model, modelKnown: true, StatusCodes.Status400BadRequest, planError);
        }

        int? headerLength = null;
        if (request.Headers.TryGetValue(ProtocolParameters.HeaderContentLength, out var headerValue))
        {
            if (!int.TryParse(headerValue.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Refuse(logger, model, modelKnown: true, StatusCodes.Status400BadRequest,
                    $"{ProtocolParameters.HeaderContentLength}: '{Shorten(headerValue.ToString())}' is not a non-negative integer; it must give the length of the JSON part of the body");
            }

            headerLength = parsed;
        }

        // Our own reader answers 413 as problem details; the server's limit, raised to just past ours, only backs it up.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = options.MaxRequestBodyBytes + 1;
        }

        PooledBody? body;
        try
        {
            body = await PooledBody.ReadAsync(request.Body, request.ContentLength, options.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // The server's own limit saw a chunk past ours first; the client hears the same answer either way.
            body = null;
        }
        catch (BadHttpRequestException exception)
        {
            return Refuse(logger, model, modelKnown: true, exception.StatusCode, $"the request body could not be read: {exception.Message}");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Aborted(model, modelKnown: true);
        }

        if (body is null)
        {
            return Refuse(logger, model, modelKnown: true, StatusCodes.Status413PayloadTooLarge,
                $"the request body is larger than the limit of {options.MaxRequestBodyBytes} bytes (setting {PostprocessingOptions.SectionName}:{nameof(PostprocessingOptions.MaxRequestBodyBytes)})");
        }

        using (body)
        {
            if (body.Memory.IsEmpty)
            {
                return Refuse(logger, model, modelKnown: true, StatusCodes.Status400BadRequest,
                    "the request body is empty; send the inference response of the model, JSON or binary, as the inference service returned it");
            }

            InferenceResponse response;
            try
            {
                response = InferenceCodec.ReadResponse(body.Memory, headerLength);
            }
            catch (InferenceProtocolException exception)
            {
                return Refuse(logger, model, modelKnown: true, StatusCodes.Status400BadRequest, exception.Message);
            }

            using (response)
            {
                return WritePredictResponse(model, plan, response, metrics, logger);
            }
        }
    }

    private static Outcome WritePredictResponse(string model, PostprocessPlan plan, InferenceResponse response, PostprocessingMetrics metrics, ILogger logger)
    {
        using var activity = PostprocessingMetrics.ActivitySource.StartActivity("postprocess");
        activity?.SetTag("mlplatform.model", model);

        var body = new PooledBufferWriter(4096);
        try
        {
            string? error;
            int rows;
            using (var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = PostprocessPlan.Encoder }))
            {
                error = PredictResponseWriter.TryWrite(writer, response, plan, logger, out rows);
            }

            if (error is not null)
            {
                body.Dispose();
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error);
                return Refuse(logger, model, modelKnown: true, StatusCodes.Status400BadRequest, error);
            }

            activity?.SetTag("mlplatform.predictions", rows);
            metrics.Predicted(model, rows);
            return new Outcome(PooledBodyResult.Json(body), ModelKnown: true);
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>JSON, binary, or no content type at all (a body forwarded without one is still read).</summary>
    private static bool IsAcceptedContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return true;
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
        {
            return false;
        }

        return mediaType.MediaType.Equals(ProtocolParameters.JsonContentType, StringComparison.OrdinalIgnoreCase)
            || mediaType.MediaType.Equals(ProtocolParameters.BinaryContentType, StringComparison.OrdinalIgnoreCase);
    }

    private static Outcome Refuse(ILogger logger, string model, bool modelKnown, int status, string detail)
    {
        PostprocessingLog.RequestRefused(logger, model, status, detail);
        return new Outcome(TypedResults.Problem(detail: detail, statusCode: status), modelKnown);
    }

    private static Outcome Aborted(string model, bool modelKnown) =>
        // Nobody reads this answer; the status keeps the request out of the error figures.
        new(TypedResults.Problem(detail: $"the client closed the request for model '{model}'", statusCode: StatusCodes.Status499ClientClosedRequest), modelKnown);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private readonly record struct Outcome(Results<PooledBodyResult, ProblemHttpResult> Result, bool ModelKnown);
}

/// <summary>The log category of the postprocess endpoint.</summary>
internal sealed class PostprocessApiLogCategory;
