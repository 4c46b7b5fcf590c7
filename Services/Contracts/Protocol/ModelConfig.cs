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
