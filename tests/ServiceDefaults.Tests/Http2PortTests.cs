using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MlPlatform.ServiceDefaults.Tests;

/// <summary>Ports beside a service's REST addresses, and the REST ports a setting must not take.</summary>
public sealed class Http2PortTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080", null, "8080")]
    [InlineData("http://localhost:8080;http://*:9000", null, "8080,9000")]
    [InlineData(null, "8080;8081", "8080,8081")]
    [InlineData("http://127.0.0.1:7000", "8080", "7000")]
    [InlineData("http://127.0.0.1:0", null, "")]
    [InlineData("not an address", null, "")]
    [InlineData(null, null, "5000")]
    public void RestPorts_FromUrlsElseHttpPorts_FixedPortsOnly(string? urls, string? httpPorts, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls, ["http_ports"] = httpPorts })
            .Build();

        Assert.Equal(expected, string.Join(',', Http2Port.RestPorts(configuration)));
    }

    [Fact]
    public async Task ListenBeside_TwoPorts_RestAddressFirstThenEachPortOnce()
    {
        var http2 = FreePort();
        var http1 = FreePort();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IConfiguration>((kestrel, configuration) =>
            Http2Port.ListenBeside(kestrel, configuration, [new SidePort(http2, HttpProtocols.Http2, "A:Port"), new SidePort(http1, HttpProtocols.Http1, "B:Port")]));
        await using var app = builder.Build();
        app.MapGet("/port", (HttpContext context) => context.Connection.LocalPort);
        await app.StartAsync();

        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.ToArray();
        Assert.Equal(3, addresses.Length);
        Assert.Equal([$"http://127.0.0.1:{http2}", $"http://127.0.0.1:{http1}"], addresses[1..]);
        using var client = new HttpClient();
        Assert.Equal(http1.ToString(System.Globalization.CultureInfo.InvariantCulture), await client.GetStringAsync($"http://127.0.0.1:{http1}/port"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{http2}/port") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.SendAsync(request);
        Assert.Equal(new Version(2, 0), response.Version);
        await app.StopAsync();
    }

    [Fact]
    public void ListenBeside_HttpsAddress_NamesEverySettingThatAskedForAPort()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "https://127.0.0.1:8443" })
            .Build();

        var error = Assert.Throws<InvalidOperationException>(() => Http2Port.ListenBeside(
            new KestrelServerOptions(), configuration, [new SidePort(9001, HttpProtocols.Http2, "A:Port"), new SidePort(9002, HttpProtocols.Http1, "B:Port")]));

        Assert.Contains("with A:Port and B:Port set", error.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
