using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Management;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Gateway.Server;

/// <summary>
/// The gateway's ports: the public REST addresses (<c>urls</c>, <c>http_ports</c>), and beside them, when set, the gRPC
/// port (h2c only) and the management port. Listened on in one place, since each extra port means listening on the REST
/// addresses explicitly too, and Kestrel refuses the same address twice.
/// </summary>
internal static class GatewayListeners
{
    public static IHostApplicationBuilder AddGatewayListeners(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<GrpcOptions>, IOptions<ManagementOptions>, ILoggerFactory>((kestrel, grpc, management, loggers) =>
            {
                var ports = new List<SidePort>();
                if (grpc.Value.GrpcPort is { } grpcPort)
                {
                    ports.Add(new SidePort(grpcPort, HttpProtocols.Http2, $"{GrpcOptions.SectionName}:{nameof(GrpcOptions.GrpcPort)}"));
                }

                if (management.Value.ManagementPort is { } managementPort)
                {
                    // HTTP/1.1 alone: what kubelets and Prometheus speak. Without TLS a port offering HTTP/2 as well would
                    // only ever use HTTP/1.1 (no ALPN), and Kestrel would log so at every start.
                    ports.Add(new SidePort(managementPort, HttpProtocols.Http1, ManagementOptions.Key));
                }
                else
                {
                    GatewayLog.NoManagementPort(loggers.CreateLogger(typeof(GatewayListeners).FullName!), ManagementOptions.Key, ManagementOptions.ConventionalPort);
                }

                Http2Port.ListenBeside(kestrel, configuration, ports);
            });
        return builder;
    }
}
