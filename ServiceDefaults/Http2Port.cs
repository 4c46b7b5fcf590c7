using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace MlPlatform.ServiceDefaults;

/// <summary>A port a service listens on beside its REST addresses, the protocols it speaks, and the setting that asked for it.</summary>
public sealed record SidePort(int Port, HttpProtocols Protocols, string SettingKey);

/// <summary>
/// A port of its own for gRPC, HTTP/2 only without TLS (h2c), beside a service's REST addresses, which keep HTTP/1.1
/// and HTTP/2. Cleartext HTTP/2 cannot share a port with HTTP/1.1: without TLS there is no ALPN to tell them apart.
/// </summary>
public static class Http2Port
{
    private const string DefaultAddress = "http://localhost:5000";

    /// <summary>
    /// Listens on the REST addresses and on <paramref name="port"/>, at the host of the first REST address. Any address
    /// set here replaces those Kestrel would take from <c>urls</c> (<c>--urls</c>, <c>ASPNETCORE_URLS</c>) or
    /// <c>http_ports</c>, so they are read and listened on here too. <paramref name="settingKey"/> is the setting that
    /// asked for the port, named when an address cannot be listened on beside it.
    /// </summary>
    /// <exception cref="InvalidOperationException">A REST address is not plain http.</exception>
    public static void ListenBeside(KestrelServerOptions kestrel, IConfiguration configuration, int port, string settingKey) =>
        ListenBeside(kestrel, configuration, [new SidePort(port, HttpProtocols.Http2, settingKey)]);

    /// <summary>
    /// Listens on the REST addresses, first, and then on each of <paramref name="ports"/>, at the host of the first REST
    /// address. All of them in one call: Kestrel refuses the same REST address listened on twice, so two settings that
    /// each add a port cannot each call <see cref="ListenBeside(KestrelServerOptions, IConfiguration, int, string)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A REST address is not plain http.</exception>
    public static void ListenBeside(KestrelServerOptions kestrel, IConfiguration configuration, IReadOnlyList<SidePort> ports)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(ports);
        if (ports.Count == 0)
        {
            return;
        }

        var addresses = RestAddresses(configuration, string.Join(" and ", ports.Select(port => port.SettingKey)));
        foreach (var address in addresses)
        {
            Listen(kestrel, address, HttpProtocols.Http1AndHttp2);
        }

        var first = addresses[0];
        foreach (var port in ports)
        {
            Listen(kestrel, BindingAddress.Parse($"{first.Scheme}://{first.Host}:{port.Port}"), port.Protocols);
        }
    }

    /// <summary>
    /// The fixed ports of the REST addresses (not 0, which Kestrel picks at start), as far as they can be read: for a
    /// setting to check that a port of its own is not one of them.
    /// </summary>
    public static IReadOnlyList<int> RestPorts(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);

        var ports = new List<int>();
        foreach (var url in RestUrls(configuration))
        {
            try
            {
                if (BindingAddress.Parse(url) is { IsUnixPipe: false, Port: > 0 } address)
                {
                    ports.Add(address.Port);
                }
            }
            catch (FormatException)
            {
                // Kestrel refuses it with its own error when it starts.
            }
        }

        return ports;
    }

    private static BindingAddress[] RestAddresses(IConfiguration configuration, string settingKey) =>
        Array.ConvertAll(RestUrls(configuration), url =>
        {
            var address = BindingAddress.Parse(url);
            return address.Scheme == "http" && !address.IsUnixPipe
                ? address
                : throw new InvalidOperationException($"The address '{url}' is not plain http; with {settingKey} set the service listens only on http addresses.");
        });

    private static string[] RestUrls(IConfiguration configuration)
    {
        var urls = Split(configuration["urls"]);
        if (urls.Length == 0)
        {
            urls = Array.ConvertAll(Split(configuration["http_ports"]), port => $"http://*:{port}");
        }

        return urls.Length == 0 ? [DefaultAddress] : urls;
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
