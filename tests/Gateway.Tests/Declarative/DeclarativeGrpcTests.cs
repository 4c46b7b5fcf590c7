using System.Globalization;
using System.Net;
using Grpc.Core;
using MlPlatform.Inference.Grpc.Protos;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// A route with protocols grpc, on the gateway's gRPC port, to a service <c>grpc://inference</c>, which service discovery
/// resolves to inference's grpc endpoint: key-auth reads the <c>apikey</c> metadata, and refusals are gRPC statuses.
/// </summary>
public sealed class DeclarativeGrpcTests
{
    private const string Key = "grpc-key-0123456789";

    private const string Yaml = $$"""
        _format_version: "3.0"
        services:
        - name: inference-grpc
          url: grpc://inference
          routes:
          - name: oip
            protocols: [grpc]
            paths: [/inference.GRPCInferenceService/]
            strip_path: false
          plugins:
          - name: key-auth
        consumers:
        - username: grpc-client
          keyauth_credentials:
          - key: {{Key}}
        """;

    [Fact]
    public async Task GrpcRoute_ForwardsWithAKey_RefusesWithoutOne_AndTheRestPortDoesNotServeIt()
    {
        await using var inference = await GrpcStandIn.StartAsync();
        var grpcPort = LoopbackPort.Free();
        await using var gateway = await KongGateway.StartAsync(Yaml, new Dictionary<string, Uri[]> { ["inference"] = [GatewayProcess.ClosedAddress()] }, new Dictionary<string, string?>
        {
            ["Gateway__GrpcPort"] = grpcPort.ToString(CultureInfo.InvariantCulture),
            ["services__inference__grpc__0"] = inference.Address.ToString().TrimEnd('/'),
        });
        using var channel = GrpcCalls.Channel(grpcPort);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var live = await client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(Key)).ResponseAsync;
        Assert.True(live.Live);
        // hide_credentials is off by default in Kong: the key goes on, as the consumer's name does.
        var call = Assert.Single(inference.Calls);
        Assert.Equal("grpc-client", call["x-consumer-username"]);

        var missing = await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(null)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Equal("No API key found in request", missing.Status.Detail);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key("not-a-key")).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal("Unauthorized", wrong.Status.Detail);

        var unrouted = await Assert.ThrowsAsync<RpcException>(() =>
            channel.CreateCallInvoker().AsyncUnaryCall(GrpcCalls.Raw("other.Service", "Call"), null, new CallOptions(GrpcCalls.Key(Key)), []).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, unrouted.StatusCode);
        Assert.Equal("no Route matched with those values", unrouted.Status.Detail);

        using var rest = await gateway.Client.SendAsync(PolicySettings.Get("/inference.GRPCInferenceService/ServerLive", Key));
        Assert.Equal(HttpStatusCode.NotFound, rest.StatusCode);
        Assert.Single(inference.Calls);
    }
}
