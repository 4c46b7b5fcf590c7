using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Gateway.Grpc;

/// <summary>The gateway's gRPC port, from the <c>Gateway</c> configuration section.</summary>
public sealed class GrpcOptions
{
    public const string SectionName = "Gateway";

    /// <summary>
    /// The HTTP/2-only (h2c) port that serves <c>inference.GRPCInferenceService</c> and nothing else; none when unset.
    /// gRPC needs a port of its own: without TLS there is no ALPN to tell HTTP/2 from HTTP/1.1 on one port.
    /// </summary>
    [Range(1, 65535)]
    public int? GrpcPort { get; set; }
}
