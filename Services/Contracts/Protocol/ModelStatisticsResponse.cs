using System.Text.Json.Serialization;

namespace MlPlatform.Contracts.Protocol;

/// <summary>
/// <c>GET /v2/models[/{name}[/versions/{version}]]/stats</c>: Triton's statistics extension, one entry per model version.
/// </summary>
public sealed record ModelStatisticsResponse(
    [property: JsonPropertyName("model_stats")] IReadOnlyList<ModelStatistics> ModelStats);

/// <summary>
/// Everything one model version did since it was loaded. <see cref="InferenceCount"/> counts items (the rows of a
/// batched request), <see cref="ExecutionCount"/> the model runs that produced outputs, one per merged batch.
/// </summary>
public sealed record ModelStatistics(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("last_inference")] ulong LastInference,
    [property: JsonPropertyName("inference_count")] ulong InferenceCount,
    [property: JsonPropertyName("execution_count")] ulong ExecutionCount,
    [property: JsonPropertyName("inference_stats")] InferenceStatistics InferenceStats,
    [property: JsonPropertyName("batch_stats")] IReadOnlyList<BatchStatistics> BatchStats);

/// <summary>
/// Per request: success and fail with each request's whole duration; queue and the three compute phases for the
/// successful ones, a request merged into a batch counted with its batch's compute times. No response cache here:
/// <see cref="CacheHit"/> and <see cref="CacheMiss"/> stay zero.
/// </summary>
public sealed record InferenceStatistics(
    [property: JsonPropertyName("success")] DurationStatistic Success,
    [property: JsonPropertyName("fail")] DurationStatistic Fail,
    [property: JsonPropertyName("queue")] DurationStatistic Queue,
    [property: JsonPropertyName("compute_input")] DurationStatistic ComputeInput,
    [property: JsonPropertyName("compute_infer")] DurationStatistic ComputeInfer,
    [property: JsonPropertyName("compute_output")] DurationStatistic ComputeOutput,
    [property: JsonPropertyName("cache_hit")] DurationStatistic CacheHit,
    [property: JsonPropertyName("cache_miss")] DurationStatistic CacheMiss);

/// <summary>Per execution of one batch size: each count is the number of executions of that size.</summary>
public sealed record BatchStatistics(
    [property: JsonPropertyName("batch_size")] ulong BatchSize,
    [property: JsonPropertyName("compute_input")] DurationStatistic ComputeInput,
    [property: JsonPropertyName("compute_infer")] DurationStatistic ComputeInfer,
    [property: JsonPropertyName("compute_output")] DurationStatistic ComputeOutput);

/// <summary>How many times something happened and its total time in nanoseconds, so a client can average between two samples.</summary>
public readonly record struct DurationStatistic(
    [property: JsonPropertyName("count")] ulong Count,
    [property: JsonPropertyName("ns")] ulong Ns);
