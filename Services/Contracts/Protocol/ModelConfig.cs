using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlPlatform.Contracts.Protocol;

/// <summary>
/// A model's <c>config.json</c> in the model repository, and what <c>GET /v2/models/{name}/config</c>
/// serves back. Field names follow Triton's model configuration where it has one.
/// </summary>
public sealed class ModelConfig
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("platform")]
    public string Platform { get; set; } = "onnxruntime_onnx";

    /// <summary>0: the model takes no batch dimension and is never batched. Above 0: the largest batch one execution takes.</summary>
    [JsonPropertyName("max_batch_size")]
    public int MaxBatchSize { get; set; }

    [JsonPropertyName("dynamic_batching")]
    public DynamicBatchingConfig? DynamicBatching { get; set; }

    [JsonPropertyName("onnxruntime")]
    public OnnxRuntimeConfig OnnxRuntime { get; set; } = new();

    /// <summary>
    /// Samples to run before the model is called ready, as Triton's <c>model_warmup</c>. None given, the server runs
    /// one on zeros of its own, and a model that fails on it is still served.
    /// </summary>
    [JsonPropertyName("model_warmup")]
    public ModelWarmupConfig[]? ModelWarmup { get; set; }

    /// <summary>Read by the preprocessing service; the inference service only serves it back.</summary>
    [JsonPropertyName("preprocess")]
    public JsonElement? Preprocess { get; set; }

    /// <summary>Read by the postprocessing service; the inference service only serves it back.</summary>
    [JsonPropertyName("postprocess")]
    public JsonElement? Postprocess { get; set; }

    /// <summary>Labels from the model's <c>labels.txt</c>, one per class index; served back, never read from config.json.</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyList<string>? Labels { get; set; }
}

/// <summary>One warm-up sample, as Triton's <c>ModelWarmup</c>: its inputs, sent <see cref="Count"/> times as one request of <see cref="BatchSize"/> items.</summary>
public sealed class ModelWarmupConfig
{
    /// <summary>Names the sample in errors.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary>Items in the request: at least 1, at most <c>max_batch_size</c>; 1 for a model that is not batched.</summary>
    [JsonPropertyName("batch_size")]
    public int BatchSize { get; set; } = 1;

    /// <summary>How many times the sample runs; 0, as in Triton, is once.</summary>
    [JsonPropertyName("count")]
    public int Count { get; set; }

    /// <summary>Every input of the model, by name.</summary>
    [JsonPropertyName("inputs")]
    public Dictionary<string, ModelWarmupInput> Inputs { get; set; } = [];
}

/// <summary>One input of a warm-up sample: its data are zeros, random, or read from a file of the model's <c>warmup/</c> folder.</summary>
public sealed class ModelWarmupInput
{
    /// <summary>The input's data type, as the protocol (<c>FP32</c>) or Triton's config (<c>TYPE_FP32</c>) names it; unset, the graph's.</summary>
    [JsonPropertyName("data_type")]
    public string? DataType { get; set; }

    /// <summary>The shape of one item, without the batch dimension of a batched model; unset, the graph's, which must then be fixed.</summary>
    [JsonPropertyName("dims")]
    public long[]? Dims { get; set; }

    [JsonPropertyName("zero_data")]
    public bool ZeroData { get; set; }

    [JsonPropertyName("random_data")]
    public bool RandomData { get; set; }

    /// <summary>
    /// A file in the model's <c>warmup/</c> folder holding one item as the protocol's binary tensor data: row-major,
    /// little-endian, BYTES as a 4-byte length before each element.
    /// </summary>
    [JsonPropertyName("input_data_file")]
    public string? InputDataFile { get; set; }
}

public sealed class DynamicBatchingConfig
{
    /// <summary>Batch sizes the scheduler aims for; it runs as soon as the queue holds the largest that fits.</summary>
    [JsonPropertyName("preferred_batch_size")]
    public int[] PreferredBatchSize { get; set; } = [];

    /// <summary>How long the first queued request may wait for others to join its batch.</summary>
    [JsonPropertyName("max_queue_delay_microseconds")]
    public long MaxQueueDelayMicroseconds { get; set; } = 1000;

    /// <summary>Requests that may wait at once; past it a request is refused with 503. 0: no limit.</summary>
    [JsonPropertyName("max_queue_size")]
    public int MaxQueueSize { get; set; } = 256;
}

public sealed class OnnxRuntimeConfig
{
    /// <summary>Threads within one operator; 0 lets ONNX Runtime choose.</summary>
    [JsonPropertyName("intra_op_threads")]
    public int IntraOpThreads { get; set; }

    /// <summary>Threads across independent operators; 0 lets ONNX Runtime choose.</summary>
    [JsonPropertyName("inter_op_threads")]
    public int InterOpThreads { get; set; }

    /// <summary><c>disabled</c>, <c>basic</c>, <c>extended</c> or <c>all</c>.</summary>
    [JsonPropertyName("graph_optimization_level")]
    public string GraphOptimizationLevel { get; set; } = "all";
}
