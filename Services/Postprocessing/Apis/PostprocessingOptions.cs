using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Postprocessing.Apis;

/// <summary>What the postprocess endpoint accepts, from the <c>Postprocessing</c> configuration section.</summary>
public sealed class PostprocessingOptions
{
    public const string SectionName = "Postprocessing";

    public const long DefaultMaxRequestBodyBytes = 8L * 1024 * 1024;

    /// <summary>The largest inference response accepted; larger ones get 413.</summary>
    /// <remarks>The body is held whole in one array while it is read, hence the upper bound of 1 GiB.</remarks>
    [Range(1024, 1L << 30, ErrorMessage = SectionName + ":{0} must be between {1} and {2} bytes; the default is 8388608 (8 MiB)")]
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;
}
