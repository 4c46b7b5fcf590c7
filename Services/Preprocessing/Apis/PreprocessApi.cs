using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Preprocessing.Diagnostics;
using MlPlatform.Preprocessing.Imaging;
using MlPlatform.Preprocessing.Limits;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Preprocessing.Apis;

/// <summary>
/// <c>POST /v1/preprocess/{model}</c>: what a client sends (an image, or KServe V1 instances) in, an
/// Open Inference Protocol request with binary tensors out, ready for <c>/v2/models/{model}/infer</c>.
/// </summary>
public static class PreprocessApi
{
    /// <summary>What the endpoint takes, as error messages list it.</summary>
    public const string AcceptedContentTypes = "image/png, image/jpeg, image/webp, image/bmp or application/json";

    private static readonly IReadOnlyDictionary<string, JsonElement> BinaryOutput = new Dictionary<string, JsonElement>
    {
        [ProtocolParameters.BinaryDataOutput] = JsonElementOf("true"u8),
    };

    public static RouteGroupBuilder MapPreprocessApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/preprocess").WithTags("Preprocessing");

        api.MapPost("/{model}", PreprocessAsync)
            .WithName("Preprocess")
            .WithSummary("Turns an image or KServe V1 instances into an Open Inference Protocol request with binary tensors.");

        return api;
    }

    internal static async Task<Results<PooledBodyResult, ProblemHttpResult, ValidationProblem>> PreprocessAsync(
        string model,
        HttpContext context,
        ModelConfigClient configs,
        PreprocessPipelines pipelines,
        WorkLimiter limiter,
        IOptions<PreprocessingOptions> options,
        PreprocessingMetrics metrics,
        ILogger<PreprocessApiLogCategory> logger)
    {
        var outcome = await PreprocessCoreAsync(model, context, configs, pipelines, limiter, options.Value, logger).ConfigureAwait(false);
        context.TagModel(outcome.Model ?? ModelMetricTag.Unknown);
        if (outcome.Model is { } known && outcome.Instances > 0)
        {
            metrics.Preprocessed(known, outcome.Instances);
            PreprocessingLog.Preprocessed(logger, known, outcome.Instances);
        }

        return outcome.Result;
    }

    private static async Task<Outcome> PreprocessCoreAsync(
        string model, HttpContext context, ModelConfigClient configs, PreprocessPipelines pipelines, WorkLimiter limiter, PreprocessingOptions options, ILogger logger)
    {
        var request = context.Request;
        var body = ClassifyBody(request.ContentType);
        if (body == BodyKind.Unsupported)
        {
            return Fail(
                StatusCodes.Status415UnsupportedMediaType,
                string.IsNullOrEmpty(request.ContentType)
                    ? $"the request has no Content-Type; send {AcceptedContentTypes}"
                    : $"Content-Type '{request.ContentType}' is not accepted; send {AcceptedContentTypes}");
        }

        ModelConfig config;
        try
        {
            config = await configs.GetAsync(model, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ModelConfigException exception)
        {
            if (exception.StatusCode != HttpStatusCode.NotFound)
            {
                PreprocessingLog.ConfigUnavailable(logger, model, exception.Message);
            }

            return Fail((int)exception.StatusCode, exception.Message);
        }

        var compiled = pipelines.Get(config);
        if (compiled.Pipeline is not { } pipeline)
        {
            return Fail(compiled.StatusCode, compiled.Problem!, config.Name);
        }

        PooledBody? content;
        try
        {
            content = await PooledBody.ReadAsync(request.Body, request.ContentLength, options.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception)
        {
            return Fail(exception.StatusCode, $"the request body could not be read: {exception.Message}", config.Name);
        }

        if (content is null)
        {
            return Fail(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than the limit of {options.MaxRequestBodyBytes} bytes", config.Name);
        }

        using (content)
        {
            if (content.Memory.IsEmpty)
            {
                return Fail(
                    StatusCodes.Status400BadRequest,
                    body == BodyKind.Image ? "the request body is empty; send the image's bytes" : "the request body is empty; send {\"instances\": [...]}",
                    config.Name);
            }

            using var lease = await limiter.EnterAsync(context.RequestAborted).ConfigureAwait(false);
            using var batch = new TensorBatch(pipeline.InstanceLength, body == BodyKind.Image ? 1 : Math.Min(pipeline.MaxInstances, 8));
            try
            {
                if (body == BodyKind.Image)
                {
                    pipeline.Run(content.Memory.Span, options.MaxImagePixels, batch.Add());
                }
                else
                {
                    InstanceReader.Read(content.Memory.Span, pipeline, options.MaxImagePixels, batch);
                }
            }
            catch (PreprocessException exception)
            {
                if (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    PreprocessingLog.ImageRefused(logger, config.Name, exception.Message);
                }

                return Fail(exception, config.Name);
            }

            var inferenceRequest = new InferenceRequest
            {
                Parameters = BinaryOutput,
                Inputs =
                [
                    new InferenceTensor
                    {
                        Name = pipeline.Config.Input,
                        DataType = TensorDataType.Fp32,
                        Shape = pipeline.ShapeFor(batch.Count),
                        Data = batch.Data,
                    },
                ],
            };

            var writer = new PooledBufferWriter(batch.Data.Length + 1024);
            try
            {
                var headerLength = InferenceCodec.WriteRequest(writer, inferenceRequest, binaryInputs: true)
                    ?? throw new InvalidOperationException("a request with one binary input was written without a binary part");
                return new Outcome(PooledBodyResult.Inference(writer, headerLength), config.Name, batch.Count);
            }
            catch
            {
                writer.Dispose();
                throw;
            }
        }
    }

    private static JsonElement JsonElementOf(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        return JsonElement.ParseValue(ref reader);
    }

    private static BodyKind ClassifyBody(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return BodyKind.Unsupported;
        }

        var mediaType = parsed.MediaType;
        if (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return BodyKind.Json;
        }

        // image/jpg is not registered, but browsers and scripts send it often enough to take.
        foreach (var accepted in (ReadOnlySpan<string>)["image/png", "image/jpeg", "image/jpg", "image/webp", "image/bmp"])
        {
            if (mediaType.Equals(accepted, StringComparison.OrdinalIgnoreCase))
            {
                return BodyKind.Image;
            }
        }

        return BodyKind.Unsupported;
    }

    private static Outcome Fail(PreprocessException exception, string model)
    {
        if (exception.Field is not { } field)
        {
            return Fail(exception.StatusCode, exception.Message, model);
        }

        var detail = $"{field}: {exception.Message}";
        return exception.StatusCode == StatusCodes.Status400BadRequest
            ? new Outcome(
                TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [exception.Message] }, detail),
                model,
                0)
            : Fail(exception.StatusCode, detail, model);
    }

    private static Outcome Fail(int status, string detail, string? model = null) =>
        new(TypedResults.Problem(detail, statusCode: status), model, 0);

    private enum BodyKind
    {
        Unsupported,
        Image,
        Json,
    }

    /// <param name="Model">The model's name once its config is known; metrics tag anything else as unknown, so a client cannot add series by inventing names.</param>
    private sealed record Outcome(Results<PooledBodyResult, ProblemHttpResult, ValidationProblem> Result, string? Model, int Instances);
}

/// <summary>The log category of the preprocess endpoint.</summary>
internal sealed class PreprocessApiLogCategory;
