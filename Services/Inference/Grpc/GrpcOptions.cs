using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Inference.Grpc;

/// <summary>Where the gRPC endpoint listens and what it accepts, from the <c>Inference</c> configuration section.</summary>
public sealed class GrpcOptions
{
    public const string SectionName = "Inference";

    /// <summary>
    /// The port of the HTTP/2-only (h2c) gRPC endpoint, beside the REST addresses; none when unset. gRPC needs a port of
    /// its own because cleartext HTTP/2 cannot share one with HTTP/1.1: without TLS there is no ALPN to tell them apart.
    /// </summary>
    [Range(1, 65535)]
    public int? GrpcPort { get; set; }

    /// <summary>The largest request message accepted; larger ones get RESOURCE_EXHAUSTED.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxGrpcMessageBytes { get; set; } = 64 * 1024 * 1024;
}
