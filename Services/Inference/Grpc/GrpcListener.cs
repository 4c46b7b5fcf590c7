using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace MlPlatform.Inference.Grpc;

/// <summary>Listens for gRPC on a port of its own, HTTP/2 only, while the REST addresses keep HTTP/1.1 and HTTP/2.</summary>
internal static class GrpcListener
{
    private const string DefaultAddress = "http://localhost:5000";

    /// <summary>
    /// Listens on the REST addresses and on the gRPC port, at the host of the first REST address. Any address set
    /// here replaces those Kestrel would take from <c>urls</c> (<c>--urls</c>, <c>ASPNETCORE_URLS</c>) or
    /// <c>http_ports</c>, so they are read and listened on here too.
    /// </summary>
    /// <exception cref="InvalidOperationException">A REST address is not plain http.</exception>
    public static void Listen(KestrelServerOptions kestrel, IConfiguration configuration, int grpcPort)
    {
        var addresses = RestAddresses(configuration);
        foreach (var address in addresses)
        {
            Listen(kestrel, address, HttpProtocols.Http1AndHttp2);
        }

        var first = addresses[0];
        Listen(kestrel, BindingAddress.Parse($"{first.Scheme}://{first.Host}:{grpcPort}"), HttpProtocols.Http2);
    }

    private static BindingAddress[] RestAddresses(IConfiguration configuration)
    {
        var urls = Split(configuration["urls"]);
        if (urls.Length == 0)
        {
            urls = Array.ConvertAll(Split(configuration["http_ports"]), port => $"http://*:{port}");
        }

        if (urls.Length == 0)
        {
            urls = [DefaultAddress];
        }

        return Array.ConvertAll(urls, url =>
        {
            var address = BindingAddress.Parse(url);
            return address.Scheme == "http" && !address.IsUnixPipe
                ? address
                : throw new InvalidOperationException($"The address '{url}' is not plain http; with Inference:GrpcPort set the service listens only on http addresses.");
        });
    }

    private static string[] Split(string? list) =>
        list?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    /// <summary>Listens as Kestrel does for the same address: a name other than localhost, <c>*</c> and <c>+</c> mean every interface.</summary>
    private static void Listen(KestrelServerOptions kestrel, BindingAddress address, HttpProtocols protocols)
    {
        void Configure(ListenOptions listen) => listen.Protocols = protocols;

        var host = address.Host.Trim('[', ']');
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel refuses a dynamic port on localhost, which is two addresses; the IPv4 loopback is one.
            if (address.Port == 0)
            {
                kestrel.Listen(IPAddress.Loopback, 0, Configure);
            }
            else
            {
                kestrel.ListenLocalhost(address.Port, Configure);
            }
        }
        else if (IPAddress.TryParse(host, out var ip))
        {
            kestrel.Listen(ip, address.Port, Configure);
        }
        else
        {
            kestrel.ListenAnyIP(address.Port, Configure);
        }
    }
}
