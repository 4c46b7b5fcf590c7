using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Repository;

namespace MlPlatform.Inference.Apis;

/// <summary>
/// Triton's model repository extension: the index of every model and its state, and, in <c>explicit</c> model
/// control mode, loading and unloading models while the server runs.
/// </summary>
public static class ModelRepositoryApi
{
    /// <summary>The parameter of a load request that carries a config in place of the folder's <c>config.json</c>.</summary>
    public const string ConfigParameter = "config";

    // A config is a few kilobytes; this leaves room for long label lists and nothing else.
    private const int MaxControlBodyBytes = 1024 * 1024;

    public static RouteGroupBuilder MapModelRepositoryApi(this IEndpointRouteBuilder app)
    {
        var repository = app.MapGroup("/v2/repository").WithTags("Model repository");
        repository.MapPost("/index", GetIndexAsync).WithName("RepositoryIndex").WithSummary("Every model of the repository, its versions and their state.");
        repository.MapPost("/models/{model}/load", LoadAsync).WithName("RepositoryModelLoad")
            .WithSummary("Loads or reloads a model; a new version takes over once it is warmed up (explicit model control mode).");
        repository.MapPost("/models/{model}/unload", UnloadAsync).WithName("RepositoryModelUnload")
            .WithSummary("Stops serving a model once the requests in flight on it are done (explicit model control mode).");
        return repository;
    }

    internal static async Task<Results<JsonHttpResult<IReadOnlyList<ModelIndexEntry>>, JsonHttpResult<InferenceErrorResponse>>> GetIndexAsync(
        HttpContext context, ModelRepository repository)
    {
        var (request, error) = await ReadBodyAsync(context, ProtocolJsonContext.Default.RepositoryIndexQuery).ConfigureAwait(false);
        return error is not null
            ? error
            : TypedResults.Json(repository.Index(request?.Ready ?? false), ProtocolJsonContext.Default.IReadOnlyListModelIndexEntry);
    }

    internal static async Task<Results<Ok, JsonHttpResult<InferenceErrorResponse>>> LoadAsync(
        string model, HttpContext context, ModelRepository repository, ILogger<ModelRepositoryLogCategory> logger)
    {
        var (request, error) = await ReadBodyAsync(context, ProtocolJsonContext.Default.ModelControlRequest).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        string? config = null;
        foreach (var (name, value) in request?.Parameters ?? new Dictionary<string, JsonElement>())
        {
            if (name != ConfigParameter)
            {
                return InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, UnknownLoadParameter(name));
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                return InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, $"parameters.{ConfigParameter}: must be a string that holds the model config as JSON, not {value.ValueKind.ToString().ToLowerInvariant()}");
            }

            config = value.GetString();
        }

        return await ControlAsync(repository, model, "loaded", logger, () => repository.LoadAsync(model, config, CancellationToken.None))
            .ConfigureAwait(false);
    }

    internal static async Task<Results<Ok, JsonHttpResult<InferenceErrorResponse>>> UnloadAsync(
        string model, HttpContext context, ModelRepository repository, ILogger<ModelRepositoryLogCategory> logger)
    {
        var (request, error) = await ReadBodyAsync(context, ProtocolJsonContext.Default.ModelControlRequest).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        foreach (var (name, value) in request?.Parameters ?? new Dictionary<string, JsonElement>())
        {
            if (UnknownUnloadParameter(name, value.ValueKind is JsonValueKind.True or JsonValueKind.False) is { } problem)
            {
                return InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, problem);
            }
        }

        return await ControlAsync(repository, model, "unloaded", logger, () => repository.UnloadAsync(model, CancellationToken.None))
            .ConfigureAwait(false);
    }

    /// <summary>Why a load or unload call is refused in this control mode, or null when it is allowed.</summary>
    internal static string? RefusedByMode(ModelRepository repository) => repository.ControlMode switch
    {
        ModelControlMode.Explicit => null,
        ModelControlMode.Poll => "models are loaded and unloaded by polling the repository (Inference:ModelControlMode is poll); change the repository instead, or set the mode to explicit",
        _ => "model control is off (Inference:ModelControlMode is none); set it to explicit to load and unload models while the server runs",
    };

    internal static string UnknownLoadParameter(string name) =>
        name.StartsWith("file:", StringComparison.Ordinal)
            ? $"parameters.{name}: model files in a load request are not taken; put the model in the repository and load it by name"
            : $"parameters.{name}: unknown parameter; a load takes '{ConfigParameter}' (the model config as a JSON string)";

    /// <summary>Triton's unload takes <c>unload_dependents</c>; with no ensembles there are no dependents to unload.</summary>
    internal static string? UnknownUnloadParameter(string name, bool isBool) =>
        name != "unload_dependents"
            ? $"parameters.{name}: unknown parameter; an unload takes 'unload_dependents'"
            : isBool ? null : "parameters.unload_dependents: must be true or false";

    private static async Task<Results<Ok, JsonHttpResult<InferenceErrorResponse>>> ControlAsync(
        ModelRepository repository,
        string model,
        string action,
        ILogger logger,
        Func<Task<ModelControlResult>> control)
    {
        if (RefusedByMode(repository) is { } refused)
        {
            return InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, refused);
        }

        // A load runs to its end once begun: a client that goes away must not leave a half-swapped model.
        var result = await control().ConfigureAwait(false);
        switch (result.Outcome)
        {
            case ModelControlOutcome.Done:
                InferenceLog.ModelControlled(logger, model, action);
                return TypedResults.Ok();
            case ModelControlOutcome.NotFound:
                return InferenceProtocolApi.Error(StatusCodes.Status404NotFound, result.Message!);
            default:
                InferenceLog.ModelUnavailable(logger, result.Message!);
                return InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, result.Message!);
        }
    }

    /// <summary>Reads an optional JSON body: none at all is the request's defaults.</summary>
    private static async Task<(T? Value, JsonHttpResult<InferenceErrorResponse>? Error)> ReadBodyAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        PooledBody? body;
        try
        {
            body = await PooledBody.ReadAsync(context.Request.Body, context.Request.ContentLength, MaxControlBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or BadHttpRequestException or OperationCanceledException)
        {
            return (null, InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, "the request body ended before it was complete"));
        }

        if (body is null)
        {
            return (null, InferenceProtocolApi.Error(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than the limit of {MaxControlBodyBytes} bytes"));
        }

        using var read = body;
        if (body.Memory.Length == 0)
        {
            return (null, null);
        }

        try
        {
            var value = JsonSerializer.Deserialize(body.Memory.Span, typeInfo);
            return value is null
                ? (null, InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, "the request body is null; send a JSON object or nothing"))
                : (value, null);
        }
        catch (JsonException exception)
        {
            var field = string.IsNullOrEmpty(exception.Path) || exception.Path == "$" ? "the request body" : exception.Path[2..];
            return (null, InferenceProtocolApi.Error(StatusCodes.Status400BadRequest, $"{field}: {exception.Message.Split(" Path:", 2)[0]}"));
        }
    }
}

/// <summary>The log category of the model repository endpoints.</summary>
internal sealed class ModelRepositoryLogCategory;
