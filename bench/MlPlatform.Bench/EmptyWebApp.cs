using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http;

namespace MlPlatform.Bench;

/// <summary>
/// The smallest ASP.NET Core service, run as a process of its own when the benchmark starts itself with
/// <see cref="RoleVariable"/> set: the reference that the services' idle memory is measured against.
/// </summary>
internal static class EmptyWebApp
{
    public const string RoleVariable = "MLPLATFORM_BENCH_ROLE";
    public const string Role = "empty-web-app";

    /// <summary>
    /// When set, the service listens on this port for h2c (HTTP/2 with prior knowledge) and on
    /// <see cref="ReadyPortVariable"/>'s for HTTP/1.1, where it is seen to be up, instead of on <c>--urls</c>.
    /// </summary>
    public const string H2cPortVariable = "MLPLATFORM_BENCH_H2C_PORT";

    public const string ReadyPortVariable = "MLPLATFORM_BENCH_READY_PORT";

    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (Environment.GetEnvironmentVariable(H2cPortVariable) is { } h2cPort && Environment.GetEnvironmentVariable(ReadyPortVariable) is { } readyPort)
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(IPAddress.Loopback, int.Parse(h2cPort, CultureInfo.InvariantCulture), listen => listen.Protocols = HttpProtocols.Http2);
                kestrel.Listen(IPAddress.Loopback, int.Parse(readyPort, CultureInfo.InvariantCulture), listen => listen.Protocols = HttpProtocols.Http1);
            });
        }

        var app = builder.Build();
        app.MapGet("/health", () => TypedResults.Text("Healthy"));
        await app.RunAsync();
    }
}
