using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Inference.Apis;

/// <summary>What the protocol endpoints accept and answer, from the <c>Inference</c> configuration section.</summary>
public sealed class InferenceProtocolOptions
{
    public const string SectionName = "Inference";

    /// <summary>The largest request body accepted; larger ones get 413.</summary>
    [Range(1024, 2L * 1024 * 1024 * 1024 - 1)]
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The seconds a client refused for a full queue is told to wait, in <c>Retry-After</c>.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;
}
