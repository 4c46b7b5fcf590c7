using Grpc.Core;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Tests;

/// <summary>The bundled digit model over gRPC, as a KServe or Triton gRPC client would call it.</summary>
public sealed class GrpcBundledModelTests(BundledModelsFixture fixture) : IClassFixture<BundledModelsFixture>
{
    private const int Pixels = 28 * 28;

    [Fact]
    public async Task Health_AfterStart_IsLiveAndReady()
    {
        var client = fixture.Grpc.Client;

        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "mnist" })).Ready);
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "mnist", Version = "1" })).Ready);
    }

    [Fact]
    public async Task ServerMetadata_Call_NamesServerAsRestDoes()
    {
        var metadata = await fixture.Grpc.Client.ServerMetadataAsync(new ServerMetadataRequest());

        Assert.Equal("mlplatform", metadata.Name);
        Assert.False(string.IsNullOrEmpty(metadata.Version));
        Assert.Contains("model_repository", metadata.Extensions);
    }

    [Fact]
    public async Task ModelMetadata_Mnist_ReportsShapesFromTheOnnxGraph()
    {
        var metadata = await fixture.Grpc.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mnist" });

        Assert.Equal("mnist", metadata.Name);
        Assert.Equal(["1"], metadata.Versions.ToArray());
        Assert.Equal("onnxruntime_onnx", metadata.Platform);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(("input", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 1, 28, 28], input.Shape.ToArray());
        var output = Assert.Single(metadata.Outputs);
        Assert.Equal(("probabilities", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([-1L, 10], output.Shape.ToArray());
    }

    [Fact]
    public async Task RepositoryIndex_Call_ListsMnistReady()
    {
        var index = await fixture.Grpc.Client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true });

        var mnist = Assert.Single(index.Models, model => model.Name == "mnist");
        Assert.Equal(("1", "READY"), (mnist.Version, mnist.State));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ModelInfer_Mnist_EqualsRestBinaryBitForBit(bool typed)
    {
        var random = new Random(28);
        var pixels = Enumerable.Range(0, 2 * Pixels).Select(_ => random.NextSingle()).ToArray();
        using var request = new InferenceRequest
        {
            Id = "digit",
            Parameters = GrpcMessages.BinaryOutput,
            Inputs = [ProtocolHttp.Tensor("input", TensorDataType.Fp32, [2, 1, 28, 28], pixels)],
        };

        using var rest = await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/mnist/infer", request, binary: true);
        var grpc = await fixture.Grpc.Client.ModelInferAsync(GrpcMessages.Request("mnist", request, typed));

        Assert.Equal(("mnist", "1", "digit"), (grpc.ModelName, grpc.ModelVersion, grpc.Id));
        GrpcMessages.AssertSameOutputs(rest, grpc);
        Assert.Equal([2L, 10], grpc.Outputs.Single().Shape.ToArray());
    }

    [Theory]
    [InlineData("nosuch", "", "unknown model 'nosuch'")]
    [InlineData("mnist", "9", "unknown version '9'")]
    public async Task ModelMetadataAndInfer_UnknownModelOrVersion_AreNotFound(string model, string version, string fragment)
    {
        var client = fixture.Grpc.Client;
        var infer = new ModelInferRequest { ModelName = model, ModelVersion = version };

        var metadata = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelMetadataAsync(new ModelMetadataRequest { Name = model, Version = version }));
        var ready = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelReadyAsync(new ModelReadyRequest { Name = model, Version = version }));
        var inferred = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(infer));

        Assert.All(new[] { metadata, ready, inferred }, error =>
        {
            Assert.Equal(StatusCode.NotFound, error.StatusCode);
            Assert.Contains(fragment, error.Status.Detail);
        });
    }

    [Fact]
    public async Task ModelControl_NotYetServed_IsUnimplemented()
    {
        var client = fixture.Grpc.Client;

        var load = await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "mnist" }));
        var unload = await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "mnist" }));

        Assert.All(new[] { load, unload }, error => Assert.Equal(StatusCode.Unimplemented, error.StatusCode));
    }
}
