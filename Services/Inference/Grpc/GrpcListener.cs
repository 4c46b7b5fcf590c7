using Microsoft.AspNetCore.Server.Kestrel.Core;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Inference.Grpc;

/// <summary>Listens for gRPC on a port of its own, HTTP/2 only, while the REST addresses keep HTTP/1.1 and HTTP/2.</summary>
internal static class GrpcListener
{
    /// <summary>Listens on the REST addresses and on the gRPC port, at the host of the first REST address (<see cref="Http2Port"/>).</summary>
    /// <exception cref="InvalidOperationException">A REST address is not plain http.</exception>
    public static void Listen(KestrelServerOptions kestrel, IConfiguration configuration, int grpcPort) =>
        Http2Port.ListenBeside(kestrel, configuration, grpcPort, $"{GrpcOptions.SectionName}:{nameof(GrpcOptions.GrpcPort)}");
}
