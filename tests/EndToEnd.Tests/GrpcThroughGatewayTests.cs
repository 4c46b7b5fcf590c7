using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using MlPlatform.Inference.Grpc.Protos;
using MlPlatform.TestSupport;

namespace MlPlatform.EndToEnd.Tests;

/// <summary>The Open Inference Protocol over gRPC through the whole application: the gateway's gRPC port to an inference replica.</summary>
[Collection(PlatformCollection.Name)]
public sealed class GrpcThroughGatewayTests(PlatformFixture fixture)
{
    [Fact]
    public async Task ModelInfer_ThroughTheGatewaysGrpcPort_AnswersAsRestInferDoes()
    {
        var digit = HoldOutDigits.Load()[0];
        using var channel = GrpcChannel.ForAddress(fixture.Platform.ServiceUrl("gateway", "grpc"));
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new ModelInferRequest { ModelName = "mnist" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
        input.Shape.Add([1, 1, 28, 28]);
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(digit.Pixels.AsSpan())));

        var response = await client.ModelInferAsync(request, new Metadata { { "apikey", "dev-key-change-me" } });
        var grpcScores = MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span).ToArray();

        var json = JsonSerializer.Serialize(new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 1, 28, 28 }, data = digit.Pixels } } });
        using var rest = await fixture.Gateway.PostAsync("/v2/models/mnist/infer", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        rest.EnsureSuccessStatusCode();
        var restScores = JsonDocument.Parse(await rest.Content.ReadAsStringAsync()).RootElement
            .GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(restScores, grpcScores);
        Assert.Equal(digit.Label, Array.IndexOf(grpcScores, grpcScores.Max()));

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(request));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
    }
}
