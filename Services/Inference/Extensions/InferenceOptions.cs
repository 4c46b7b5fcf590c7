using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Inference.Extensions;

/// <summary>Settings of the inference service, from the <c>Inference</c> configuration section.</summary>
public sealed class InferenceOptions
{
    public const string SectionName = "Inference";

    /// <summary>
    /// The model repository folder, used as given; a relative path is taken from the working directory. Unset, it
    /// is <c>models</c> in the working directory, or, where there is none, the <c>models</c> folder of the source
    /// tree the service was built from (<see cref="Repository.ModelRepositoryLocation"/>).
    /// </summary>
    public string? ModelRepository { get; set; }

    /// <summary>The largest request body accepted; larger ones get 413.</summary>
    [Range(1024, 2L * 1024 * 1024 * 1024 - 1)]
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The seconds a client refused for a full queue is told to wait, in <c>Retry-After</c>.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;
}
