using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace MlPlatform.Bench;

/// <summary>
/// YARP and nothing else: one catch-all route to the upstream named by <see cref="UpstreamVariable"/>, run as a
/// process of its own when the benchmark starts itself in this role. It shows how much of the gap between the
/// gateway and nginx is the proxy library and how much the gateway's own middleware.
/// </summary>
internal static class BareYarp
{
    public const string Role = "bare-yarp";
    public const string UpstreamVariable = "MLPLATFORM_BENCH_UPSTREAM";

    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        var upstream = Environment.GetEnvironmentVariable(UpstreamVariable) ?? throw new InvalidOperationException($"{UpstreamVariable} is not set");
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "upstream", Match = new RouteMatch { Path = "/{**rest}" } }],
            [new ClusterConfig { ClusterId = "upstream", Destinations = new Dictionary<string, DestinationConfig> { ["0"] = new() { Address = upstream } } }]);
        var app = builder.Build();
        app.MapReverseProxy();
        await app.RunAsync();
    }
}
