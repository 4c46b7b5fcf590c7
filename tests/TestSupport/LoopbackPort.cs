using System.Net;
using System.Net.Sockets;

namespace MlPlatform.TestSupport;

public static class LoopbackPort
{
    /// <summary>A loopback port free now; whatever binds it a moment later may race another process, which is safe enough on a test machine.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
