using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// YARP's clients with the gateway's connect timeout, so a proxied request gives up on a dead replica as soon as a
/// predict hop does, and its connection lifetime, so a replica back behind a service address gets its share.
/// </summary>
internal sealed class GatewayForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger, IOptions<ProxyOptions> options)
    : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ConnectTimeout = options.Value.ConnectTimeout;
        handler.PooledConnectionLifetime = options.Value.ConnectionLifetime;
    }
}
