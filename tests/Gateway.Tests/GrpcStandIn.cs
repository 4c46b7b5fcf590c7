using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Gateway.Tests;

/// <summary>One call the gRPC stand-in received: its method and metadata as they arrived.</summary>
public sealed record RecordedCall(string Method, IReadOnlyDictionary<string, string> Metadata)
{
    public string? this[string key] => Metadata.TryGetValue(key, out var value) ? value : null;
}

/// <summary>
/// Inference's gRPC endpoint played by a real gRPC server on an h2c loopback port, recording the metadata of every call.
/// It answers <c>ServerLive</c> (live), <c>ServerMetadata</c> (named after the stand-in) and <c>ModelReady</c> (ready,
/// but never for the model <c>hang</c>); every other method is UNIMPLEMENTED, as the generated base class has it.
/// </summary>
public sealed class GrpcStandIn : IAsyncDisposable
{
    public const string ServerName = "grpc-stand-in";

    private readonly WebApplication _app;

    private GrpcStandIn(WebApplication app, ConcurrentQueue<RecordedCall> calls)
    {
        _app = app;
        Calls = calls;
    }

    public Uri Address { get; private set; } = null!;

    public ConcurrentQueue<RecordedCall> Calls { get; }

    public IEnumerable<RecordedCall> WithRequestId(string requestId) => Calls.Where(c => c["x-request-id"] == requestId);

    public static async Task<GrpcStandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        var calls = new ConcurrentQueue<RecordedCall>();
        builder.Services.AddSingleton(calls);
        var app = builder.Build();
        var standIn = new GrpcStandIn(app, calls);
        app.MapGrpcService<RecordingService>();
        await app.StartAsync();
        standIn.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class RecordingService(ConcurrentQueue<RecordedCall> calls) : GRPCInferenceService.GRPCInferenceServiceBase
    {
        public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context)
        {
            Record(context);
            return Task.FromResult(new ServerLiveResponse { Live = true });
        }

        public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
        {
            Record(context);
            return Task.FromResult(new ServerMetadataResponse { Name = ServerName, Version = "0" });
        }

        /// <summary>Ready at once, except for the model <c>hang</c>, which never answers before the call is cancelled.</summary>
        public override async Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
        {
            Record(context);
            if (request.Name == "hang")
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            return new ModelReadyResponse { Ready = true };
        }

        private void Record(ServerCallContext context) =>
            calls.Enqueue(new RecordedCall(
                context.Method,
                context.RequestHeaders.GroupBy(h => h.Key).ToDictionary(g => g.Key, g => string.Join(",", g.Select(h => h.Value)), StringComparer.OrdinalIgnoreCase)));
    }
}
