using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Tests;

/// <summary>The generated models over gRPC: the same answers as REST, and every malformed field refused by name.</summary>
public sealed class GrpcGeneratedModelTests(GeneratedModelsFixture fixture) : IClassFixture<GeneratedModelsFixture>
{
    /// <summary>Three values of each echo input, the edges of its range among them.</summary>
    internal static InferenceTensor[] EchoInputs() =>
    [
        ProtocolHttp.Tensor("bool", TensorDataType.Bool, [3], (byte)1, (byte)0, (byte)1),
        ProtocolHttp.Tensor("uint8", TensorDataType.UInt8, [3], byte.MinValue, (byte)7, byte.MaxValue),
        ProtocolHttp.Tensor("uint16", TensorDataType.UInt16, [3], ushort.MinValue, (ushort)300, ushort.MaxValue),
        ProtocolHttp.Tensor("uint32", TensorDataType.UInt32, [3], uint.MinValue, 70_000u, uint.MaxValue),
        ProtocolHttp.Tensor("uint64", TensorDataType.UInt64, [3], ulong.MinValue, 5_000_000_000ul, ulong.MaxValue),
        ProtocolHttp.Tensor("int8", TensorDataType.Int8, [3], sbyte.MinValue, (sbyte)-1, sbyte.MaxValue),
        ProtocolHttp.Tensor("int16", TensorDataType.Int16, [3], short.MinValue, (short)-300, short.MaxValue),
        ProtocolHttp.Tensor("int32", TensorDataType.Int32, [3], int.MinValue, -70_000, int.MaxValue),
        ProtocolHttp.Tensor("int64", TensorDataType.Int64, [3], long.MinValue, -5_000_000_000L, long.MaxValue),
        ProtocolHttp.Tensor("fp32", TensorDataType.Fp32, [3], float.MinValue, -0f, float.Epsilon),
        ProtocolHttp.Tensor("fp64", TensorDataType.Fp64, [3], double.MaxValue, Math.PI, -double.Epsilon),
        new InferenceTensor { Name = "bytes", DataType = TensorDataType.Bytes, Shape = [3], Data = GrpcMessages.Strings("", "héllo", "\0x") },
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ModelInfer_EveryDatatype_EchoesWhatRestDoesBitForBit(bool typed)
    {
        var inputs = EchoInputs();
        using var request = new InferenceRequest { Parameters = GrpcMessages.BinaryOutput, Inputs = inputs };

        using var rest = await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/echo/infer", request, binary: true);
        var grpc = await fixture.Grpc.Client.ModelInferAsync(GrpcMessages.Request("echo", request, typed));

        GrpcMessages.AssertSameOutputs(rest, grpc);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal($"{inputs[i].Name}_out", grpc.Outputs[i].Name);
            Assert.Equal(inputs[i].Data.ToArray(), grpc.RawOutputContents[i].ToByteArray());
        }
    }

    [Fact]
    public async Task ModelInfer_Int64ScalarFp16AndStringsAsRaw_EqualRestBitForBit()
    {
        using var request = new InferenceRequest
        {
            Id = "types",
            Parameters = GrpcMessages.BinaryOutput,
            Inputs =
            [
                ProtocolHttp.Tensor("count", TensorDataType.Int64, [], 42L),
                ProtocolHttp.Tensor("half", TensorDataType.Fp16, [3], (Half)1.5, Half.NegativeZero, Half.MaxValue),
                new InferenceTensor { Name = "text", DataType = TensorDataType.Bytes, Shape = [2], Data = GrpcMessages.Strings("one", "") },
            ],
        };

        using var rest = await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/types/infer", request, binary: true);
        var grpc = await fixture.Grpc.Client.ModelInferAsync(GrpcMessages.Request("types", request, typed: false));

        GrpcMessages.AssertSameOutputs(rest, grpc);
        Assert.Equal([1.5f, -0f, 65504f], MemoryMarshal.Cast<byte, float>(grpc.RawOutputContents[2].Span).ToArray());
    }

    [Fact]
    public async Task ModelInfer_VersionOutputsAndParameters_AreHonouredAndKept()
    {
        var request = new ModelInferRequest { ModelName = "offset", ModelVersion = "1", Id = "v1" };
        request.Inputs.Add(GrpcMessages.Input("x", "FP32", 1, 2));
        request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 10f, 20f } };
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "y" });
        request.Parameters["priority"] = new InferParameter { Int64Param = 3 };
        request.Parameters["tag"] = new InferParameter { StringParam = "nightly" };

        var response = await fixture.Grpc.Client.ModelInferAsync(request);

        Assert.Equal(("offset", "1", "v1"), (response.ModelName, response.ModelVersion, response.Id));
        Assert.Equal([11f, 21f], MemoryMarshal.Cast<byte, float>(response.RawOutputContents.Single().Span).ToArray());
        Assert.Equal(3, response.Parameters["priority"].Int64Param);
        Assert.Equal("nightly", response.Parameters["tag"].StringParam);
    }

    /// <summary>A valid request to the pair model, a [1, 2] and b [1, 2], as raw contents; each bad request below breaks one field of it.</summary>
    private static ModelInferRequest Pair()
    {
        var request = new ModelInferRequest { ModelName = "pair" };
        request.Inputs.Add(GrpcMessages.Input("a", "FP32", 1, 2));
        request.Inputs.Add(GrpcMessages.Input("b", "FP32", 1, 2));
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[8]));
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[8]));
        return request;
    }

    private static ModelInferRequest Typed(string model, string name, string datatype, InferTensorContents contents, params long[] shape)
    {
        var request = new ModelInferRequest { ModelName = model };
        request.Inputs.Add(GrpcMessages.Input(name, datatype, shape));
        request.Inputs[0].Contents = contents;
        return request;
    }

    private static ModelInferRequest Raw(string model, string name, string datatype, byte[] data, params long[] shape)
    {
        var request = new ModelInferRequest { ModelName = model };
        request.Inputs.Add(GrpcMessages.Input(name, datatype, shape));
        request.RawInputContents.Add(ByteString.CopyFrom(data));
        return request;
    }

    private static ModelInferRequest With(ModelInferRequest request, Action<ModelInferRequest> change)
    {
        change(request);
        return request;
    }

    public static TheoryData<string, StatusCode, string> BadRequests() => new()
    {
        { "unknown datatype", StatusCode.InvalidArgument, "inputs[0].datatype: unknown datatype 'FP99'" },
        { "wrong datatype", StatusCode.InvalidArgument, "inputs[1].datatype: input 'b' of model 'pair' is FP32, not INT32" },
        { "raw size mismatch", StatusCode.InvalidArgument, "raw_input_contents[0]: expected 12 bytes for FP32 [1, 3], got 8" },
        { "negative dimension", StatusCode.InvalidArgument, "inputs[0].shape: dimension 0 is -1" },
        { "shape not the model's", StatusCode.InvalidArgument, "inputs[0].shape" },
        { "raw count mismatch", StatusCode.InvalidArgument, "raw_input_contents: 1 entries for 2 inputs" },
        { "raw and typed mixed", StatusCode.InvalidArgument, "inputs[1].contents: the request sends raw_input_contents" },
        { "unknown input", StatusCode.InvalidArgument, "inputs[0].name: unknown input 'zz'" },
        { "missing input", StatusCode.InvalidArgument, "input 'b' of model 'pair' is missing" },
        { "input twice", StatusCode.InvalidArgument, "inputs[1].name: input 'a' is given twice" },
        { "empty input name", StatusCode.InvalidArgument, "inputs[0].name: required" },
        { "input name past the client's header limit", StatusCode.InvalidArgument, "inputs[0].name: unknown input 'zzz" },
        { "typed count mismatch", StatusCode.InvalidArgument, "inputs[0].contents.fp32_contents: expected 2 values for FP32 [1, 2], got 3" },
        { "typed in the wrong field", StatusCode.InvalidArgument, "inputs[0].contents.int_contents: a FP32 input takes its values in fp32_contents" },
        { "unknown output", StatusCode.InvalidArgument, "outputs[0].name: unknown output 'nope'" },
        { "empty model name", StatusCode.InvalidArgument, "model_name: required" },
        { "parameter without value", StatusCode.InvalidArgument, "parameters['p']: has no value" },
        { "parameter not finite", StatusCode.InvalidArgument, "inputs[0].parameters['p'].double_param: must be finite" },
        { "BYTES truncated length prefix", StatusCode.InvalidArgument, "raw_input_contents[0]: BYTES element 1 at byte 5 has a length prefix that runs past" },
        { "BYTES element count", StatusCode.InvalidArgument, "raw_input_contents[0]: expected 2 BYTES elements for shape [2], got 1" },
        { "FP16 as typed contents", StatusCode.InvalidArgument, "inputs[0].contents: FP16 has no typed contents" },
        { "INT8 out of range", StatusCode.InvalidArgument, "inputs[0].contents.int_contents[1]: 128 is outside the range of INT8" },
        { "UINT16 out of range", StatusCode.InvalidArgument, "inputs[0].contents.uint_contents[0]: 65536 is outside the range of UINT16" },
        { "BOOL raw not 0 or 1", StatusCode.InvalidArgument, "raw_input_contents[0]: BOOL element 2 is 2" },
        { "batch over max_batch_size", StatusCode.InvalidArgument, "inputs[0].shape: batch size 9 is outside 1..8" },
        { "unknown model", StatusCode.NotFound, "unknown model 'nosuch'" },
        { "unknown version", StatusCode.NotFound, "unknown version '7' of model 'offset'" },
    };

    private static ModelInferRequest BadRequest(string name) => name switch
    {
        "unknown datatype" => With(Pair(), r => r.Inputs[0].Datatype = "FP99"),
        "wrong datatype" => With(Pair(), r => r.Inputs[1].Datatype = "INT32"),
        "raw size mismatch" => With(Pair(), r => r.Inputs[0].Shape[1] = 3),
        "negative dimension" => With(Pair(), r => r.Inputs[0].Shape[0] = -1),
        "shape not the model's" => With(Pair(), r => r.Inputs[0].Shape.RemoveAt(0)),
        "raw count mismatch" => With(Pair(), r => r.RawInputContents.RemoveAt(1)),
        "raw and typed mixed" => With(Pair(), r => r.Inputs[1].Contents = new InferTensorContents { Fp32Contents = { 1f, 2f } }),
        "unknown input" => With(Pair(), r => r.Inputs[0].Name = "zz"),
        "missing input" => With(Pair(), r => { r.Inputs.RemoveAt(1); r.RawInputContents.RemoveAt(1); }),
        "input twice" => With(Pair(), r => r.Inputs[1].Name = "a"),
        "empty input name" => With(Pair(), r => r.Inputs[0].Name = ""),
        "input name past the client's header limit" => With(Pair(), r => r.Inputs[0].Name = new string('z', 200_000)),
        "typed count mismatch" => Typed("pair", "a", "FP32", new InferTensorContents { Fp32Contents = { 1f, 2f, 3f } }, 1, 2),
        "typed in the wrong field" => Typed("pair", "a", "FP32", new InferTensorContents { IntContents = { 1, 2 } }, 1, 2),
        "unknown output" => With(Pair(), r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "nope" })),
        "empty model name" => With(Pair(), r => r.ModelName = ""),
        "parameter without value" => With(Pair(), r => r.Parameters["p"] = new InferParameter()),
        "parameter not finite" => With(Pair(), r => r.Inputs[0].Parameters["p"] = new InferParameter { DoubleParam = double.NaN }),
        "BYTES truncated length prefix" => Raw("echo", "bytes", "BYTES", [1, 0, 0, 0, (byte)'a', 9, 0, 0, 0, (byte)'b'], 2),
        "BYTES element count" => Raw("echo", "bytes", "BYTES", GrpcMessages.Strings("only"), 2),
        "FP16 as typed contents" => Typed("types", "half", "FP16", new InferTensorContents { Fp32Contents = { 1f } }, 1),
        "INT8 out of range" => Typed("echo", "int8", "INT8", new InferTensorContents { IntContents = { 127, 128 } }, 2),
        "UINT16 out of range" => Typed("echo", "uint16", "UINT16", new InferTensorContents { UintContents = { 65536 } }, 1),
        "BOOL raw not 0 or 1" => Raw("echo", "bool", "BOOL", [1, 0, 2], 3),
        "batch over max_batch_size" => Raw("offset", "x", "FP32", new byte[9 * 2 * 4], 9, 2),
        "unknown model" => With(Pair(), r => r.ModelName = "nosuch"),
        "unknown version" => With(Pair(), r => { r.ModelName = "offset"; r.ModelVersion = "7"; }),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ModelInfer_BadRequest_AnswersItsStatusNamingTheField(string name, StatusCode status, string fragment)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Grpc.Client.ModelInferAsync(BadRequest(name)));

        Assert.Equal(status, error.StatusCode);
        Assert.Contains(fragment, error.Status.Detail);
        Assert.DoesNotContain("   at ", error.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_BytesThatDoNotParse_AreInvalidArgument()
    {
        // Field 1 (model_name) with a length that runs past the end of the message.
        byte[] message = [0x0a, 0xff, 0xff, 0x01];

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Grpc.Channel.CreateCallInvoker().AsyncUnaryCall(GrpcMessages.RawModelInfer, null, default, message));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("not a valid ModelInferRequest", error.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_Valid_BaseOfTheBadRequestsSucceeds()
    {
        // Each bad request breaks one field of this one: were it refused itself, they would prove nothing.
        var response = await fixture.Grpc.Client.ModelInferAsync(Pair());

        Assert.Equal(["sum", "product"], response.Outputs.Select(o => o.Name).ToArray());
    }

    [Fact]
    public async Task ModelInfer_MessageOverTheLimit_IsResourceExhausted()
    {
        var request = Raw("pair", "a", "FP32", new byte[GeneratedModelsFixture.BodyLimit + 8], 1, (GeneratedModelsFixture.BodyLimit / 4) + 2);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Grpc.Client.ModelInferAsync(request));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.True((await fixture.Grpc.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
    }

    [Fact]
    public async Task ModelInfer_QueueFull_IsUnavailableAndRecovers()
    {
        var request = Raw("slow", "x", "FP32", new byte[256 * 256 * 4], 1, 256, 256);

        async Task<StatusCode> SendAsync()
        {
            try
            {
                await fixture.Grpc.Client.ModelInferAsync(request);
                return StatusCode.OK;
            }
            catch (RpcException exception)
            {
                Assert.Contains("queue", exception.Status.Detail);
                return exception.StatusCode;
            }
        }

        var statuses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => SendAsync()));

        Assert.All(statuses, status => Assert.True(status is StatusCode.OK or StatusCode.Unavailable, $"unexpected {status}"));
        Assert.Contains(StatusCode.Unavailable, statuses);
        Assert.Contains(StatusCode.OK, statuses);
        Assert.Equal(StatusCode.OK, await SendAsync());
    }
}
