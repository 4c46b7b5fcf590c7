using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MlPlatform.Bench;

/// <summary>An upstream that costs next to nothing: a tiny constant answer on /v2/..., and /health for the gateway's probes.</summary>
internal sealed class CheapUpstream(WebApplication app) : IAsyncDisposable
{
    private static readonly byte[] Answer = """{"ready":true}"""u8.ToArray();

    public Uri Address { get; } = new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());

    public static async Task<CheapUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/health", () => "Healthy");
        app.MapGet("/v2/{**rest}", (HttpContext context) =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = Answer.Length;
            return context.Response.Body.WriteAsync(Answer).AsTask();
        });
        await app.StartAsync();
        return new CheapUpstream(app);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
