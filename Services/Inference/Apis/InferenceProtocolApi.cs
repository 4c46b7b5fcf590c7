using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Batching;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Execution;
using MlPlatform.Inference.Repository;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Inference.Apis;

/// <summary>The Open Inference Protocol (V2) REST endpoints, as KServe and Triton serve them.</summary>
public static class InferenceProtocolApi
{
    private static readonly ServerMetadataResponse ServerMetadata = new(
        "mlplatform",
        typeof(InferenceProtocolApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0",
        ["binary_tensor_data", "model_configuration", "model_repository", "model_repository(unload_dependents)", "statistics"]);

    public static RouteGroupBuilder MapInferenceProtocolApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v2").WithTags("Open Inference Protocol");

        api.MapGet("", GetServerMetadata).WithName("ServerMetadata").WithSummary("Server name, version and protocol extensions.");
        api.MapGet("/health/live", GetLive).WithName("ServerLive").WithSummary("Whether the server can take requests at all.");
        api.MapGet("/health/ready", GetReady).WithName("ServerReady").WithSummary("Whether every model is loaded and warmed up.");
        // A literal segment outranks {model}: a model named "stats" keeps its other routes, as in Triton, but not this one.
        api.MapGet("/models/stats", GetAllModelStatistics).WithName("ModelStatistics").WithSummary("Statistics of every version of every model.");

        MapModelRoutes(api.MapGroup("/models/{model}"));
        MapModelRoutes(api.MapGroup("/models/{model}/versions/{version}"));

        return api;
    }

    private static void MapModelRoutes(RouteGroupBuilder model)
    {
        model.MapGet("", GetModelMetadata).WithSummary("Inputs and outputs of a model, from its ONNX graph.");
        model.MapGet("/ready", GetModelReady).WithSummary("Whether a model version can take requests.");
        model.MapGet("/config", GetModelConfig).WithSummary("The model's config.json, with its labels.");
        model.MapPost("/infer", InferAsync).WithSummary("Runs the model on JSON or binary tensors.");
        model.MapGet("/stats", GetModelStatistics).WithSummary("Statistics of a model version, or of every version of the model.");
    }

    public static Ok<ServerMetadataResponse> GetServerMetadata() => TypedResults.Ok(ServerMetadata);

    public static Ok GetLive() => TypedResults.Ok();

    internal static Results<Ok, JsonHttpResult<InferenceErrorResponse>> GetReady(ModelRepository repository) =>
        repository.IsReady ? TypedResults.Ok() : Error(StatusCodes.Status503ServiceUnavailable, "models are still loading");

    internal static Results<Ok<ModelMetadataResponse>, JsonHttpResult<InferenceErrorResponse>> GetModelMetadata(
        string model, string? version, HttpContext context, ModelRepository repository)
    {
        var lookup = Find(context, repository, model, version);
        if (lookup.Model is not { } served)
        {
            return NotFoundOrLoading(lookup, repository);
        }

        SetConfigTag(context, lookup.Entry!);
        return TypedResults.Ok(served.ToMetadata(version is null ? lookup.Entry!.VersionTexts : [served.VersionText]));
    }

    internal static Results<Ok, JsonHttpResult<InferenceErrorResponse>> GetModelReady(string model, string? version, HttpContext context, ModelRepository repository)
    {
        var lookup = Find(context, repository, model, version);
        return lookup.Model is not null && repository.IsReady ? TypedResults.Ok() : NotFoundOrLoading(lookup, repository);
    }

    internal static Results<JsonHttpResult<ModelConfig>, JsonHttpResult<InferenceErrorResponse>> GetModelConfig(
        string model, string? version, HttpContext context, ModelRepository repository)
    {
        var lookup = Find(context, repository, model, version);
        if (lookup.Model is not { } served)
        {
            return NotFoundOrLoading(lookup, repository);
        }

        SetConfigTag(context, lookup.Entry!);
        return TypedResults.Json(served.Config, ProtocolJsonContext.Default.ModelConfig);
    }

    internal static JsonHttpResult<ModelStatisticsResponse> GetAllModelStatistics(ModelRepository repository) =>
        Statistics(repository.Models.Values.SelectMany(Statistics));

    /// <summary>Every version of the model without a version in the route, as Triton answers, not only the highest.</summary>
    internal static Results<JsonHttpResult<ModelStatisticsResponse>, JsonHttpResult<InferenceErrorResponse>> GetModelStatistics(
        string model, string? version, HttpContext context, ModelRepository repository)
    {
        var lookup = Find(context, repository, model, version);
        if (lookup.Model is not { } served)
        {
            return NotFoundOrLoading(lookup, repository);
        }

        return Statistics(version is null ? Statistics(lookup.Entry!) : [served.Statistics.Snapshot(served.Name, served.VersionText)]);
    }

    /// <summary>The statistics of every version of a model, in the index's order.</summary>
    internal static IEnumerable<ModelStatistics> Statistics(ModelEntry entry) =>
        entry.Versions.Select(v => v.Model.Statistics.Snapshot(v.Model.Name, v.Model.VersionText));

    private static JsonHttpResult<ModelStatisticsResponse> Statistics(IEnumerable<ModelStatistics> statistics) =>
        TypedResults.Json(new ModelStatisticsResponse([.. statistics]), ProtocolJsonContext.Default.ModelStatisticsResponse);

    internal static async Task<Results<PooledBodyResult, JsonHttpResult<InferenceErrorResponse>>> InferAsync(
        string model,
        string? version,
        HttpContext context,
        ModelRepository repository,
        IOptions<InferenceProtocolOptions> options,
        ILogger<InferenceProtocolLogCategory> logger)
    {
        // Held to the end: a reload or unload meanwhile frees this version's session only once the answer is encoded.
        using var lease = repository.Acquire(model, version);
        var lookup = lease.Lookup;
        context.TagModel(lookup.Model?.Name ?? ModelMetricTag.Unknown);
        if (lookup.Model is not { } served || lookup.Batcher is not { } batcher || !repository.IsReady)
        {
            return NotFoundOrLoading(lookup, repository);
        }

        var settings = options.Value;
        int? headerLength = null;
        if (context.Request.Headers.TryGetValue(ProtocolParameters.HeaderContentLength, out var headerValue))
        {
            if (!int.TryParse(headerValue.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Error(StatusCodes.Status400BadRequest, $"{ProtocolParameters.HeaderContentLength}: '{headerValue}' is not a non-negative integer");
            }

            headerLength = parsed;
        }

        PooledBody? body;
        try
        {
            body = await PooledBody.ReadAsync(context.Request.Body, context.Request.ContentLength, settings.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception)
        {
            return Error(exception.StatusCode, $"the request body could not be read: {exception.Message}");
        }
        catch (Exception exception) when (exception is IOException || (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            // The client went away mid-body: its mistake, not the server's, even if nobody reads the answer.
            return Error(StatusCodes.Status400BadRequest, "the request body ended before it was complete");
        }

        if (body is null)
        {
            return Error(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than the limit of {settings.MaxRequestBodyBytes} bytes");
        }

        context.Response.RegisterForDispose(body);

        InferenceRequest request;
        try
        {
            request = InferenceCodec.ReadRequest(body.Memory, headerLength);
        }
        catch (InferenceProtocolException exception)
        {
            return Error(StatusCodes.Status400BadRequest, exception.Message);
        }

        context.Response.RegisterForDispose(request);

        var job = InferenceRequestValidator.Validate(served, request, out var error);
        if (job is null)
        {
            return Error(StatusCodes.Status400BadRequest, error!);
        }

        try
        {
            using var response = await batcher.SubmitAsync(job).ConfigureAwait(false);
            return Encode(response, request);
        }
        catch (InferenceProtocolException exception)
        {
            return Error(StatusCodes.Status400BadRequest, exception.Message);
        }
        catch (QueueFullException exception)
        {
            InferenceLog.QueueFull(logger, served.Name);
            context.Response.Headers.RetryAfter = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Error(StatusCodes.Status503ServiceUnavailable, exception.Message);
        }
        catch (InferenceExecutionException exception)
        {
            InferenceLog.ExecutionFailed(logger, served.Name, exception);
            return Error(StatusCodes.Status400BadRequest, exception.Message);
        }
        catch (OperationCanceledException)
        {
            context.Response.Headers.RetryAfter = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Error(StatusCodes.Status503ServiceUnavailable, "the server is shutting down; retry on another replica");
        }
    }

    /// <summary>Encodes a response as the request asked, each output binary or JSON, before anything is sent.</summary>
    /// <exception cref="InferenceProtocolException">An output cannot go as JSON (BYTES that are not UTF-8).</exception>
    private static PooledBodyResult Encode(InferenceResponse response, InferenceRequest request)
    {
        var body = new PooledBufferWriter(16 * 1024);
        try
        {
            var headerLength = InferenceCodec.WriteResponse(body, response, request.WantsBinary);
            return PooledBodyResult.Inference(body, headerLength);
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Finds a model version and tags the request's duration with the model's name when the server serves that
    /// version, <c>unknown</c> otherwise, so a client cannot add series by inventing names.
    /// </summary>
    private static ModelLookup Find(HttpContext context, ModelRepository repository, string model, string? version)
    {
        var lookup = repository.Find(model, version);
        context.TagModel(lookup.Model?.Name ?? ModelMetricTag.Unknown);
        return lookup;
    }

    /// <summary>
    /// The entity tag of the model's config, which pre- and postprocessing compare to see a config reloaded under
    /// the same version number.
    /// </summary>
    private static void SetConfigTag(HttpContext context, ModelEntry entry) =>
        context.Response.Headers.ETag = $"\"{entry.ConfigTag}\"";

    private static JsonHttpResult<InferenceErrorResponse> NotFoundOrLoading(ModelLookup lookup, ModelRepository repository) =>
        !repository.IsReady
            ? Error(StatusCodes.Status503ServiceUnavailable, "models are still loading; retry when /v2/health/ready answers 200")
            : lookup.ErrorKind == ModelLookupError.Unavailable
                ? Error(StatusCodes.Status503ServiceUnavailable, lookup.Error!)
                : Error(StatusCodes.Status404NotFound, lookup.Error!);

    internal static JsonHttpResult<InferenceErrorResponse> Error(int status, string message) =>
        TypedResults.Json(new InferenceErrorResponse(message), ProtocolJsonContext.Default.InferenceErrorResponse, statusCode: status);
}

/// <summary>The log category of the protocol endpoints.</summary>
internal sealed class InferenceProtocolLogCategory;
