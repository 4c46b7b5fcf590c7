using Grpc.Core;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Apis;
using MlPlatform.Inference.Batching;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Execution;
using MlPlatform.Inference.Repository;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Inference.Grpc;

/// <summary>
/// The Open Inference Protocol over gRPC (KServe's <c>inference.GRPCInferenceService</c>), over the same repository,
/// validation and batching queues as the REST endpoints, with Triton's model repository RPCs and ModelStatistics.
/// </summary>
/// <remarks>
/// Every client mistake is INVALID_ARGUMENT with a message that names the field; an unknown model or version is
/// NOT_FOUND; a full queue, models still loading and a shutdown are UNAVAILABLE, all three worth a retry.
/// </remarks>
internal sealed class GrpcInferenceService(ModelRepository repository, ILogger<GrpcInferenceService> logger)
    : Protos.GRPCInferenceService.GRPCInferenceServiceBase
{
    // Percent-encoded in the trailer, at most 12 bytes a character: well inside a client's 64 KiB of headers.
    private const int MaxDetailLength = 2048;

    public override Task<Protos.ServerLiveResponse> ServerLive(Protos.ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new Protos.ServerLiveResponse { Live = true });

    public override Task<Protos.ServerReadyResponse> ServerReady(Protos.ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new Protos.ServerReadyResponse { Ready = repository.IsReady });

    public override Task<Protos.ServerMetadataResponse> ServerMetadata(Protos.ServerMetadataRequest request, ServerCallContext context)
    {
        var metadata = InferenceProtocolApi.GetServerMetadata().Value!;
        var response = new Protos.ServerMetadataResponse { Name = metadata.Name, Version = metadata.Version };
        response.Extensions.Add(metadata.Extensions);
        return Task.FromResult(response);
    }

    public override Task<Protos.ModelReadyResponse> ModelReady(Protos.ModelReadyRequest request, ServerCallContext context)
    {
        var lookup = Find(context, request.Name, request.Version, "name");
        // While models load, an unknown name may yet appear: not ready rather than not found.
        if (!repository.IsReady)
        {
            return Task.FromResult(new Protos.ModelReadyResponse { Ready = false });
        }

        return lookup.Model is null ? throw NotFoundOrLoading(lookup) : Task.FromResult(new Protos.ModelReadyResponse { Ready = true });
    }

    public override Task<Protos.ModelMetadataResponse> ModelMetadata(Protos.ModelMetadataRequest request, ServerCallContext context)
    {
        var lookup = Find(context, request.Name, request.Version, "name");
        if (lookup.Model is not { } served)
        {
            throw NotFoundOrLoading(lookup);
        }

        var metadata = served.ToMetadata(request.Version.Length == 0 ? lookup.Entry!.VersionTexts : [served.VersionText]);
        var response = new Protos.ModelMetadataResponse { Name = metadata.Name, Platform = metadata.Platform };
        response.Versions.Add(metadata.Versions);
        response.Inputs.Add(metadata.Inputs.Select(ToMessage));
        response.Outputs.Add(metadata.Outputs.Select(ToMessage));
        return Task.FromResult(response);
    }

    /// <remarks>This server has one repository: <c>repository_name</c> is not read, as Triton does not with one.</remarks>
    public override Task<Protos.RepositoryIndexResponse> RepositoryIndex(Protos.RepositoryIndexRequest request, ServerCallContext context)
    {
        var response = new Protos.RepositoryIndexResponse();
        foreach (var entry in repository.Index(request.Ready))
        {
            response.Models.Add(new Protos.RepositoryIndexResponse.Types.ModelIndex
            {
                Name = entry.Name,
                Version = entry.Version,
                State = entry.State,
                Reason = entry.Reason ?? "",
            });
        }

        return Task.FromResult(response);
    }

    public override async Task<Protos.RepositoryModelLoadResponse> RepositoryModelLoad(Protos.RepositoryModelLoadRequest request, ServerCallContext context)
    {
        RequireModelControl(request.ModelName);
        string? config = null;
        foreach (var (name, value) in request.Parameters)
        {
            if (name != ModelRepositoryApi.ConfigParameter)
            {
                throw InvalidArgument(ModelRepositoryApi.UnknownLoadParameter(name));
            }

            config = value.ParameterChoiceCase == Protos.ModelRepositoryParameter.ParameterChoiceOneofCase.StringParam
                ? value.StringParam
                : throw InvalidArgument($"parameters.{ModelRepositoryApi.ConfigParameter}: must be a string_param that holds the model config as JSON");
        }

        // A load runs to its end once begun: a client that goes away must not leave a half-swapped model.
        Complete(await repository.LoadAsync(request.ModelName, config, CancellationToken.None).ConfigureAwait(false), request.ModelName, "loaded");
        return new Protos.RepositoryModelLoadResponse();
    }

    public override async Task<Protos.RepositoryModelUnloadResponse> RepositoryModelUnload(Protos.RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        RequireModelControl(request.ModelName);
        foreach (var (name, value) in request.Parameters)
        {
            var isBool = value.ParameterChoiceCase == Protos.ModelRepositoryParameter.ParameterChoiceOneofCase.BoolParam;
            if (ModelRepositoryApi.UnknownUnloadParameter(name, isBool) is { } problem)
            {
                throw InvalidArgument(problem);
            }
        }

        Complete(await repository.UnloadAsync(request.ModelName, CancellationToken.None).ConfigureAwait(false), request.ModelName, "unloaded");
        return new Protos.RepositoryModelUnloadResponse();
    }

    /// <summary>
    /// Every version of every model for an empty name, as Triton answers; for a name, every version of it, or the one asked
    /// for. The figures are the REST endpoint's, field for field.
    /// </summary>
    public override Task<Protos.ModelStatisticsResponse> ModelStatistics(Protos.ModelStatisticsRequest request, ServerCallContext context)
    {
        IEnumerable<ModelStatistics> statistics;
        if (request.Name.Length == 0)
        {
            statistics = repository.Models.Values.SelectMany(InferenceProtocolApi.Statistics);
        }
        else
        {
            var lookup = Find(context, request.Name, request.Version, "name");
            if (lookup.Model is not { } served)
            {
                throw NotFoundOrLoading(lookup);
            }

            statistics = request.Version.Length == 0
                ? InferenceProtocolApi.Statistics(lookup.Entry!)
                : [served.Statistics.Snapshot(served.Name, served.VersionText)];
        }

        var response = new Protos.ModelStatisticsResponse();
        response.ModelStats.Add(statistics.Select(ToMessage));
        return Task.FromResult(response);
    }

    public override async Task<Protos.ModelInferResponse> ModelInfer(Protos.ModelInferRequest request, ServerCallContext context)
    {
        if (request.ModelName.Length == 0)
        {
            throw InvalidArgument("model_name: required");
        }

        // Disposed once the answer is written: the request's typed inputs and the response's raw outputs live in
        // pooled buffers, which the messages point into rather than copy; the version is held as long, so that a
        // reload or unload meanwhile frees its session only after that.
        var http = context.GetHttpContext();
        var lease = repository.Acquire(request.ModelName, request.ModelVersion.Length == 0 ? null : request.ModelVersion);
        http.Response.RegisterForDispose(lease);
        var lookup = lease.Lookup;
        http.TagModel(lookup.Model?.Name ?? ModelMetricTag.Unknown);
        if (lookup.Model is not { } served || lookup.Batcher is not { } batcher || !repository.IsReady)
        {
            throw NotFoundOrLoading(lookup);
        }

        InferenceRequest inference;
        try
        {
            inference = GrpcRequestReader.Read(request);
        }
        catch (InferenceProtocolException exception)
        {
            throw InvalidArgument(exception.Message);
        }

        http.Response.RegisterForDispose(inference);

        var job = InferenceRequestValidator.Validate(served, inference, out var error) ?? throw InvalidArgument(error!);
        InferenceResponse response;
        try
        {
            response = await batcher.SubmitAsync(job).ConfigureAwait(false);
        }
        catch (InferenceProtocolException exception)
        {
            throw InvalidArgument(exception.Message);
        }
        catch (QueueFullException exception)
        {
            InferenceLog.QueueFull(logger, served.Name);
            throw Failure(StatusCode.Unavailable, exception.Message);
        }
        catch (InferenceExecutionException exception)
        {
            InferenceLog.ExecutionFailed(logger, served.Name, exception);
            throw InvalidArgument(exception.Message);
        }
        catch (OperationCanceledException)
        {
            throw Failure(StatusCode.Unavailable, "the server is shutting down; retry on another replica");
        }

        http.Response.RegisterForDispose(response);
        return GrpcResponseWriter.Write(response);
    }

    /// <summary>Finds a model version, tagging the call's duration as the REST endpoints tag theirs.</summary>
    private ModelLookup Find(ServerCallContext context, string model, string version, string field)
    {
        if (model.Length == 0)
        {
            throw InvalidArgument($"{field}: required");
        }

        var lookup = repository.Find(model, version.Length == 0 ? null : version);
        context.GetHttpContext().TagModel(lookup.Model?.Name ?? ModelMetricTag.Unknown);
        return lookup;
    }

    private RpcException NotFoundOrLoading(ModelLookup lookup) =>
        !repository.IsReady
            ? Failure(StatusCode.Unavailable, "models are still loading; retry when ServerReady answers ready")
            : Failure(lookup.ErrorKind == ModelLookupError.Unavailable ? StatusCode.Unavailable : StatusCode.NotFound, lookup.Error!);

    private void RequireModelControl(string modelName)
    {
        if (modelName.Length == 0)
        {
            throw InvalidArgument("model_name: required");
        }

        if (ModelRepositoryApi.RefusedByMode(repository) is { } refused)
        {
            throw Failure(StatusCode.FailedPrecondition, refused);
        }
    }

    private void Complete(ModelControlResult result, string model, string action)
    {
        switch (result.Outcome)
        {
            case ModelControlOutcome.Done:
                InferenceLog.ModelControlled(logger, model, action);
                return;
            case ModelControlOutcome.NotFound:
                throw Failure(StatusCode.NotFound, result.Message!);
            default:
                InferenceLog.ModelUnavailable(logger, result.Message!);
                throw InvalidArgument(result.Message!);
        }
    }

    private static RpcException InvalidArgument(string message) => Failure(StatusCode.InvalidArgument, message);

    /// <summary>
    /// A failed call, its message cut short: it goes back in a trailer, and a message that echoes a client's
    /// megabyte-long name would pass the client's header limit and reach it as a transport error instead.
    /// </summary>
    private static RpcException Failure(StatusCode status, string message) =>
        new(new Status(status, message.Length <= MaxDetailLength ? message : string.Concat(message.AsSpan(0, MaxDetailLength), "...")));

    private static Protos.ModelStatistics ToMessage(ModelStatistics statistics)
    {
        var inference = statistics.InferenceStats;
        var message = new Protos.ModelStatistics
        {
            Name = statistics.Name,
            Version = statistics.Version,
            LastInference = statistics.LastInference,
            InferenceCount = statistics.InferenceCount,
            ExecutionCount = statistics.ExecutionCount,
            InferenceStats = new Protos.InferStatistics
            {
                Success = ToMessage(inference.Success),
                Fail = ToMessage(inference.Fail),
                Queue = ToMessage(inference.Queue),
                ComputeInput = ToMessage(inference.ComputeInput),
                ComputeInfer = ToMessage(inference.ComputeInfer),
                ComputeOutput = ToMessage(inference.ComputeOutput),
                CacheHit = ToMessage(inference.CacheHit),
                CacheMiss = ToMessage(inference.CacheMiss),
            },
        };
        message.BatchStats.Add(statistics.BatchStats.Select(batch => new Protos.InferBatchStatistics
        {
            BatchSize = batch.BatchSize,
            ComputeInput = ToMessage(batch.ComputeInput),
            ComputeInfer = ToMessage(batch.ComputeInfer),
            ComputeOutput = ToMessage(batch.ComputeOutput),
        }));
        return message;
    }

    private static Protos.StatisticDuration ToMessage(DurationStatistic duration) => new() { Count = duration.Count, Ns = duration.Ns };

    private static Protos.ModelMetadataResponse.Types.TensorMetadata ToMessage(TensorMetadata tensor)
    {
        var message = new Protos.ModelMetadataResponse.Types.TensorMetadata { Name = tensor.Name, Datatype = tensor.DataType };
        message.Shape.Add(tensor.Shape);
        return message;
    }
}
