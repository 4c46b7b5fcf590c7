using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Preprocessing.Limits;

/// <summary>The limits of the preprocessing service, from the <c>Preprocessing</c> configuration section.</summary>
public sealed class PreprocessingOptions
{
    public const string SectionName = "Preprocessing";

    /// <summary>The largest request body accepted; larger ones get 413.</summary>
    [Range(1024, 0x7FFFFFC7)]
    public long MaxRequestBodyBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// The most pixels an image may declare in its header; larger ones get 413 before any decoding,
    /// because a small compressed body can declare an image that would fill memory.
    /// </summary>
    [Range(1, 500_000_000)]
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>Requests whose images and tensors are worked on at once; others wait. 0: one per processor.</summary>
    [Range(0, 4096)]
    public int MaxConcurrentWork { get; set; }
}
