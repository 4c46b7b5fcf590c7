using System.Runtime.InteropServices;
using System.Text.Json;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using static MlPlatform.Contracts.Tests.TestData;

namespace MlPlatform.Contracts.Tests;

public sealed class RoundTripTests
{
    [Theory]
    [MemberData(nameof(DataTypesAndEncodings), MemberType = typeof(TestData))]
    public void WriteRequestThenReadRequest_EveryDataType_SameTensors(TensorDataType dataType, bool binary)
    {
        var first = Sample(dataType, "first");
        var second = Sample(dataType, "second");
        var original = new InferenceRequest
        {
            Id = "request-7",
            Parameters = Parameters("""{"priority": 3, "tag": "x"}"""),
            Inputs = [first, second],
            Outputs = [new RequestedOutput { Name = "out", Parameters = Parameters("""{"binary_data": true}""") }],
        };

        var (body, headerLength) = Write(original, binary);
        using var read = InferenceCodec.ReadRequest(body.WrittenMemory, headerLength);

        Assert.Equal(binary, headerLength is not null);
        Assert.Equal("request-7", read.Id);
        Assert.Equal(2, read.Inputs.Count);
        AssertSameTensor(first, read.Inputs[0]);
        AssertSameTensor(second, read.Inputs[1]);
        AssertSameParameters(original.Parameters, read.Parameters);
        Assert.NotNull(read.Outputs);
        Assert.Equal("out", Assert.Single(read.Outputs).Name);
        Assert.True(read.WantsBinary("out"));
    }

    [Theory]
    [MemberData(nameof(DataTypesAndEncodings), MemberType = typeof(TestData))]
    public void WriteResponseThenReadResponse_EveryDataType_SameTensors(TensorDataType dataType, bool binary)
    {
        var output = Sample(dataType, "scores");
        var original = new InferenceResponse
        {
            ModelName = "classifier",
            ModelVersion = "3",
            Id = "abc",
            Parameters = Parameters("""{"sequence_end": false}"""),
            Outputs = [output],
        };

        var (body, headerLength) = Write(original, binary ? _ => true : null);
        using var read = InferenceCodec.ReadResponse(body.WrittenMemory, headerLength);

        Assert.Equal(binary, headerLength is not null);
        Assert.Equal("classifier", read.ModelName);
        Assert.Equal("3", read.ModelVersion);
        Assert.Equal("abc", read.Id);
        AssertSameParameters(original.Parameters, read.Parameters);
        AssertSameTensor(output, Assert.Single(read.Outputs));
    }

    [Fact]
    public void WriteResponse_SomeOutputsBinary_EachReadsBackFromItsOwnPart()
    {
        var tensors = new InferenceTensor[AllDataTypes.Length];
        for (var i = 0; i < tensors.Length; i++)
        {
            tensors[i] = Sample(AllDataTypes[i], $"out{i}");
        }

        var original = new InferenceResponse { ModelName = "m", Outputs = tensors };

        // Alternate binary and JSON so binary parts sit between JSON tensors in the header.
        var (body, headerLength) = Write(original, name => int.Parse(name.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture) % 2 == 0);
        using var read = InferenceCodec.ReadResponse(body.WrittenMemory, headerLength);

        Assert.NotNull(headerLength);
        Assert.Equal(tensors.Length, read.Outputs.Count);
        for (var i = 0; i < tensors.Length; i++)
        {
            AssertSameTensor(tensors[i], read.Outputs[i]);
        }
    }

    [Theory]
    [MemberData(nameof(DataTypes), MemberType = typeof(TestData))]
    public void RoundTrip_EmptyTensor_EmptyData(TensorDataType dataType)
    {
        var empty = new InferenceTensor { Name = "e", DataType = dataType, Shape = [0, 4], Data = ReadOnlyMemory<byte>.Empty };
        foreach (var binary in new[] { false, true })
        {
            var (body, headerLength) = Write(new InferenceRequest { Inputs = [empty] }, binary);
            using var read = InferenceCodec.ReadRequest(body.WrittenMemory, headerLength);

            AssertSameTensor(empty, Assert.Single(read.Inputs));
        }
    }

    [Fact]
    public void RoundTrip_ScalarShape_OneElement()
    {
        var scalar = new InferenceTensor { Name = "s", DataType = TensorDataType.Int64, Shape = [], Data = Le(42L) };

        var (body, headerLength) = Write(new InferenceRequest { Inputs = [scalar] }, binaryInputs: false);
        using var read = InferenceCodec.ReadRequest(body.WrittenMemory, headerLength);

        AssertSameTensor(scalar, Assert.Single(read.Inputs));
    }

    [Fact]
    public void RoundTrip_IdOfRequest_EchoedInResponse()
    {
        using var request = InferenceCodec.ReadRequest(
            Utf8("""{"id": "req-\u00e9-42", "inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [5]}]}"""),
            null);
        var response = new InferenceResponse { ModelName = "m", Id = request.Id, Outputs = [request.Inputs[0]] };

        var (body, headerLength) = Write(response, null);
        using var read = InferenceCodec.ReadResponse(body.WrittenMemory, headerLength);

        Assert.Equal("req-\u00e9-42", read.Id);
        using var json = JsonPart(body, headerLength);
        Assert.Equal("req-\u00e9-42", json.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public void RoundTrip_ParametersOfEveryKind_Preserved()
    {
        var requestParameters = Parameters("""
            {"binary_data_output": true, "n": -1.5e3, "s": "text \"quoted\"", "nested": {"a": [1, {"b": null}]}, "f": false}
            """);
        var tensorParameters = Parameters("""{"content_type": "str", "shm": {"region": "r0", "offset": 16}}""");
        var outputParameters = Parameters("""{"binary_data": false, "classification": 3}""");
        var original = new InferenceRequest
        {
            Parameters = requestParameters,
            Inputs = [new InferenceTensor { Name = "x", DataType = TensorDataType.Fp32, Shape = [1], Data = Le(1f), Parameters = tensorParameters }],
            Outputs = [new RequestedOutput { Name = "y", Parameters = outputParameters }, new RequestedOutput { Name = "z" }],
        };

        foreach (var binary in new[] { false, true })
        {
            var (body, headerLength) = Write(original, binary);
            using var read = InferenceCodec.ReadRequest(body.WrittenMemory, headerLength);

            AssertSameParameters(requestParameters, read.Parameters);
            AssertSameParameters(tensorParameters, read.Inputs[0].Parameters);
            Assert.NotNull(read.Outputs);
            Assert.Equal(["y", "z"], [read.Outputs[0].Name, read.Outputs[1].Name]);
            AssertSameParameters(outputParameters, read.Outputs[0].Parameters);
            Assert.Null(read.Outputs[1].Parameters);
            Assert.True(read.BinaryDataOutput);
            Assert.False(read.WantsBinary("y"));
            Assert.True(read.WantsBinary("z"));
        }
    }

    [Fact]
    public void RoundTrip_NoOutputsRequested_OutputsNull()
    {
        var (body, headerLength) = Write(new InferenceRequest { Inputs = [Sample(TensorDataType.Int8)] }, binaryInputs: true);
        using var read = InferenceCodec.ReadRequest(body.WrittenMemory, headerLength);

        Assert.Null(read.Outputs);
        Assert.Null(read.Id);
        Assert.Null(read.Parameters);
        Assert.False(read.WantsBinary("anything"));
    }

    [Fact]
    public void ReadRequest_BinaryBody_TensorsAreSlicesOfTheBody()
    {
        var (written, headerLength) = Write(
            new InferenceRequest { Inputs = [Sample(TensorDataType.Fp32, "a"), Sample(TensorDataType.Bytes, "b")] },
            binaryInputs: true);
        var body = written.WrittenSpan.ToArray();

        using var read = InferenceCodec.ReadRequest(body, headerLength);

        var expectedOffset = headerLength!.Value;
        foreach (var tensor in read.Inputs)
        {
            Assert.True(MemoryMarshal.TryGetArray(tensor.Data, out var segment));
            Assert.Same(body, segment.Array);
            Assert.Equal(expectedOffset, segment.Offset);
            expectedOffset += segment.Count;
        }

        Assert.Equal(body.Length, expectedOffset);

        // No copy: a change to the body shows through the tensor.
        body[headerLength.Value] ^= 0xFF;
        Assert.Equal(body[headerLength.Value], read.Inputs[0].Data.Span[0]);
    }

    [Fact]
    public void ReadRequest_BinaryOnly_OwnsNoPooledBuffers()
    {
        var (body, headerLength) = Write(new InferenceRequest { Inputs = [Sample(TensorDataType.Int16)] }, binaryInputs: true);

        using var read = InferenceCodec.ReadRequest(body.WrittenMemory, headerLength);

        Assert.Null(read.Resources);
    }

    [Fact]
    public void ReadRequest_JsonData_ParsedIntoPooledBuffersReturnedOnDispose()
    {
        var pool = new CountingArrayPool();
        var (body, headerLength) = Write(
            new InferenceRequest { Inputs = [Sample(TensorDataType.Fp64, "a"), Sample(TensorDataType.Bytes, "b"), Sample(TensorDataType.Bool, "c")] },
            binaryInputs: false);

        var read = InferenceBodyReader.ReadRequest(body.WrittenMemory, headerLength, pool);

        Assert.NotNull(read.Resources);
        Assert.Equal(3, pool.Outstanding);
        foreach (var tensor in read.Inputs)
        {
            Assert.True(MemoryMarshal.TryGetArray(tensor.Data, out var segment));
            Assert.True(pool.Owns(segment.Array!));
        }

        read.Dispose();
        read.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void ReadResponse_JsonData_ParsedIntoPooledBuffersReturnedOnDispose()
    {
        var pool = new CountingArrayPool();
        var (body, headerLength) = Write(new InferenceResponse { ModelName = "m", Outputs = [Sample(TensorDataType.UInt64)] }, null);

        var read = InferenceBodyReader.ReadResponse(body.WrittenMemory, headerLength, pool);
        Assert.Equal(1, pool.Outstanding);
        read.Dispose();

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void ReadRequest_ManyLongStrings_BytesBufferGrowsAndReturnsEveryArray()
    {
        var pool = new CountingArrayPool();
        var values = new string[200];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = new string((char)('a' + (i % 26)), i * 7);
        }

        var tensor = new InferenceTensor { Name = "s", DataType = TensorDataType.Bytes, Shape = [values.Length], Data = Strings(values) };
        var (body, headerLength) = Write(new InferenceRequest { Inputs = [tensor] }, binaryInputs: false);

        var read = InferenceBodyReader.ReadRequest(body.WrittenMemory, headerLength, pool);

        AssertSameTensor(tensor, Assert.Single(read.Inputs));
        Assert.True(pool.Rentals > 1, "the guess should have been too small for this test to cover growth");
        read.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }
}
