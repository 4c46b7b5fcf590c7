using System.Buffers;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using static MlPlatform.Contracts.Tests.TestData;

namespace MlPlatform.Contracts.Tests;

public sealed class WriteTests
{
    [Fact]
    public void WriteRequest_JsonOnly_ReturnsNullAndWritesFlatData()
    {
        var request = new InferenceRequest
        {
            Id = "1",
            Inputs = [new InferenceTensor { Name = "x", DataType = TensorDataType.Int32, Shape = [2, 2], Data = Le(1, -2, 3, int.MaxValue) }],
        };

        var (body, headerLength) = Write(request, binaryInputs: false);

        Assert.Null(headerLength);
        Assert.Equal(
            """{"id":"1","inputs":[{"name":"x","shape":[2,2],"datatype":"INT32","data":[1,-2,3,2147483647]}]}""",
            Encoding.UTF8.GetString(body.WrittenSpan));
    }

    [Fact]
    public void WriteRequest_BinaryInputs_JsonHeaderThenPartsInOrder()
    {
        var a = Sample(TensorDataType.Fp32, "a");
        var b = Sample(TensorDataType.Bytes, "b");
        var c = Sample(TensorDataType.Bool, "c");
        var request = new InferenceRequest
        {
            Inputs = [a, b, c],
            Outputs = [new RequestedOutput { Name = "y", Parameters = Parameters("""{"binary_data": true}""") }],
        };

        var (body, headerLength) = Write(request, binaryInputs: true);

        Assert.NotNull(headerLength);
        using var json = JsonPart(body, headerLength);
        var inputs = json.RootElement.GetProperty("inputs");
        var expectedParts = new[] { a.Data.ToArray(), b.Data.ToArray(), c.Data.ToArray() };
        var offset = headerLength.Value;
        for (var i = 0; i < expectedParts.Length; i++)
        {
            Assert.False(inputs[i].TryGetProperty("data", out _));
            var size = inputs[i].GetProperty("parameters").GetProperty(ProtocolParameters.BinaryDataSize).GetInt32();
            Assert.Equal(expectedParts[i].Length, size);
            Assert.Equal(expectedParts[i], body.WrittenSpan.Slice(offset, size).ToArray());
            offset += size;
        }

        Assert.Equal(body.WrittenCount, offset);
        Assert.True(json.RootElement.GetProperty("outputs")[0].GetProperty("parameters").GetProperty("binary_data").GetBoolean());
    }

    [Fact]
    public void WriteRequest_BinaryInputsButNoInputs_ReturnsNull()
    {
        var (body, headerLength) = Write(new InferenceRequest { Inputs = [] }, binaryInputs: true);

        Assert.Null(headerLength);
        Assert.Equal("""{"inputs":[]}""", Encoding.UTF8.GetString(body.WrittenSpan));
    }

    [Fact]
    public void WriteRequest_BinaryInputOfZeroBytes_StillReturnsHeaderLength()
    {
        var empty = new InferenceTensor { Name = "e", DataType = TensorDataType.Fp32, Shape = [0], Data = ReadOnlyMemory<byte>.Empty };

        var (body, headerLength) = Write(new InferenceRequest { Inputs = [empty] }, binaryInputs: true);

        Assert.Equal(body.WrittenCount, headerLength);
        using var read = InferenceCodec.ReadRequest(body.WrittenMemory, headerLength);
        Assert.True(read.Inputs[0].Data.IsEmpty);
    }

    [Fact]
    public void WriteRequest_AppendsToExistingContent_HeaderLengthCountsOnlyTheJson()
    {
        var destination = new ArrayBufferWriter<byte>();
        destination.Write("prefix"u8);
        var input = new InferenceTensor { Name = "x", DataType = TensorDataType.UInt8, Shape = [3], Data = new byte[] { 1, 2, 3 } };

        var headerLength = InferenceCodec.WriteRequest(destination, new InferenceRequest { Inputs = [input] }, binaryInputs: true);

        Assert.Equal(destination.WrittenCount - "prefix".Length - 3, headerLength);
        using var read = InferenceCodec.ReadRequest(destination.WrittenMemory["prefix".Length..], headerLength);
        Assert.Equal(new byte[] { 1, 2, 3 }, read.Inputs[0].Data.ToArray());
    }

    [Fact]
    public void WriteResponse_NullSelector_AllJsonAndReturnsNull()
    {
        var response = new InferenceResponse { ModelName = "m", Outputs = [Sample(TensorDataType.Int64, "a"), Sample(TensorDataType.Bytes, "b")] };

        var (body, headerLength) = Write(response, null);

        Assert.Null(headerLength);
        using var json = JsonPart(body, headerLength);
        foreach (var output in json.RootElement.GetProperty("outputs").EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Array, output.GetProperty("data").ValueKind);
            Assert.False(output.TryGetProperty("parameters", out _));
        }
    }

    [Fact]
    public void WriteResponse_SelectorFalseForAll_ReturnsNull()
    {
        var (_, headerLength) = Write(new InferenceResponse { ModelName = "m", Outputs = [Sample(TensorDataType.Int8)] }, _ => false);

        Assert.Null(headerLength);
    }

    [Fact]
    public void WriteResponse_SelectorAskedOncePerOutput_BinaryOnlyForChosen()
    {
        var asked = new List<string>();
        var a = Sample(TensorDataType.UInt16, "a");
        var b = Sample(TensorDataType.Fp64, "b");
        var c = Sample(TensorDataType.Int32, "c");
        var response = new InferenceResponse { ModelName = "m", ModelVersion = "1", Id = "i", Outputs = [a, b, c] };

        var (body, headerLength) = Write(response, name =>
        {
            asked.Add(name);
            return name != "b";
        });

        Assert.Equal(["a", "b", "c"], asked);
        Assert.NotNull(headerLength);
        using var json = JsonPart(body, headerLength);
        var root = json.RootElement;
        Assert.Equal("m", root.GetProperty("model_name").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        Assert.Equal("i", root.GetProperty("id").GetString());
        var outputs = root.GetProperty("outputs");
        Assert.Equal(a.Data.Length, outputs[0].GetProperty("parameters").GetProperty(ProtocolParameters.BinaryDataSize).GetInt32());
        Assert.Equal(12, outputs[1].GetProperty("data").GetArrayLength());
        Assert.Equal(c.Data.Length, outputs[2].GetProperty("parameters").GetProperty(ProtocolParameters.BinaryDataSize).GetInt32());
        Assert.Equal([.. a.Data.ToArray(), .. c.Data.ToArray()], body.WrittenSpan[headerLength.Value..].ToArray());
    }

    [Fact]
    public void WriteResponse_NonFiniteFloats_WrittenAsStrings()
    {
        var response = new InferenceResponse
        {
            ModelName = "m",
            Outputs =
            [
                new InferenceTensor { Name = "f", DataType = TensorDataType.Fp32, Shape = [4], Data = Le(float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1.5f) },
                new InferenceTensor { Name = "d", DataType = TensorDataType.Fp64, Shape = [3], Data = Le(double.NaN, double.PositiveInfinity, double.NegativeInfinity) },
                new InferenceTensor { Name = "h", DataType = TensorDataType.Fp16, Shape = [3], Data = Le(Half.NaN, Half.PositiveInfinity, Half.NegativeInfinity) },
            ],
        };

        var (body, _) = Write(response, null);

        var text = Encoding.UTF8.GetString(body.WrittenSpan);
        Assert.Contains("""
            "data":["NaN","Infinity","-Infinity",1.5]
            """.Trim(), text);
        Assert.Contains("""
            "data":["NaN","Infinity","-Infinity"]}
            """.Trim(), text);
    }

    [Fact]
    public void WriteResponse_Fp16_WrittenAsJsonNumbers()
    {
        var response = new InferenceResponse
        {
            ModelName = "m",
            Outputs = [new InferenceTensor { Name = "h", DataType = TensorDataType.Fp16, Shape = [4], Data = Le((Half)1, (Half)0.5, (Half)(-2), Half.MaxValue) }],
        };

        var (body, _) = Write(response, null);

        using var json = JsonPart(body, null);
        var data = json.RootElement.GetProperty("outputs")[0].GetProperty("data");
        Assert.Equal(JsonValueKind.Number, data[0].ValueKind);
        Assert.Equal([1.0, 0.5, -2.0, 65504.0], [data[0].GetDouble(), data[1].GetDouble(), data[2].GetDouble(), data[3].GetDouble()]);
    }

    [Fact]
    public void WriteResponse_ShapeWrittenAsGiven()
    {
        var response = new InferenceResponse
        {
            ModelName = "m",
            Outputs = [new InferenceTensor { Name = "x", DataType = TensorDataType.Int8, Shape = [1, 1, 2, 1], Data = new byte[] { 1, 2 } }],
        };

        var (body, _) = Write(response, null);

        Assert.Contains("\"shape\":[1,1,2,1]", Encoding.UTF8.GetString(body.WrittenSpan));
    }

    [Fact]
    public void WriteResponse_StaleBinaryDataSizeInParameters_ReplacedOrDropped()
    {
        var output = new InferenceTensor
        {
            Name = "x",
            DataType = TensorDataType.Int8,
            Shape = [2],
            Data = new byte[] { 1, 2 },
            Parameters = Parameters("""{"binary_data_size": 999, "keep": "me"}"""),
        };
        var response = new InferenceResponse { ModelName = "m", Outputs = [output] };

        var (jsonBody, _) = Write(response, null);
        var (binaryBody, headerLength) = Write(response, _ => true);

        using var asJson = JsonPart(jsonBody, null);
        var jsonParameters = asJson.RootElement.GetProperty("outputs")[0].GetProperty("parameters");
        Assert.False(jsonParameters.TryGetProperty(ProtocolParameters.BinaryDataSize, out _));
        Assert.Equal("me", jsonParameters.GetProperty("keep").GetString());

        using var asBinary = JsonPart(binaryBody, headerLength);
        var binaryParameters = asBinary.RootElement.GetProperty("outputs")[0].GetProperty("parameters");
        Assert.Equal(2, binaryParameters.GetProperty(ProtocolParameters.BinaryDataSize).GetInt32());
        Assert.Equal("me", binaryParameters.GetProperty("keep").GetString());
        Assert.Single(AllPropertyNames(binaryParameters), name => name == ProtocolParameters.BinaryDataSize);
    }

    [Fact]
    public void WriteResponse_BytesNotUtf8AsJson_ThrowsAndWritesNothing()
    {
        var output = new InferenceTensor { Name = "raw", DataType = TensorDataType.Bytes, Shape = [2], Data = RawElements([0x41], [0xFF, 0xFE]) };
        var response = new InferenceResponse { ModelName = "m", Outputs = [Sample(TensorDataType.Int8, "first"), output] };
        var destination = new ArrayBufferWriter<byte>();

        var exception = Assert.Throws<InferenceProtocolException>(() => InferenceCodec.WriteResponse(destination, response, null));

        Assert.StartsWith("outputs[1].data: element 1", exception.Message);
        Assert.Contains(ProtocolParameters.BinaryData, exception.Message);
        Assert.Equal(0, destination.WrittenCount);
    }

    [Fact]
    public void WriteResponse_BytesNotUtf8AsBinary_RoundTripsExactly()
    {
        var output = new InferenceTensor { Name = "raw", DataType = TensorDataType.Bytes, Shape = [2], Data = RawElements([0x41], [0xFF, 0xFE, 0x00]) };

        var (body, headerLength) = Write(new InferenceResponse { ModelName = "m", Outputs = [output] }, _ => true);
        using var read = InferenceCodec.ReadResponse(body.WrittenMemory, headerLength);

        AssertSameTensor(output, read.Outputs[0]);
    }

    [Theory]
    [InlineData(TensorDataType.Fp32, 5)]
    [InlineData(TensorDataType.Int64, 12)]
    [InlineData(TensorDataType.UInt16, 3)]
    public void WriteRequest_DataNotWholeElements_ThrowsArgumentExceptionAndWritesNothing(TensorDataType dataType, int length)
    {
        var input = new InferenceTensor { Name = "bad", DataType = dataType, Shape = [1], Data = new byte[length] };
        var destination = new ArrayBufferWriter<byte>();

        foreach (var binary in new[] { false, true })
        {
            var exception = Assert.Throws<ArgumentException>(() => InferenceCodec.WriteRequest(destination, new InferenceRequest { Inputs = [input] }, binary));
            Assert.Contains("inputs[0] 'bad'", exception.Message);
        }

        Assert.Equal(0, destination.WrittenCount);
    }

    [Fact]
    public void WriteRequest_BoolByteOtherThanZeroOrOne_ThrowsArgumentException()
    {
        var input = new InferenceTensor { Name = "flags", DataType = TensorDataType.Bool, Shape = [3], Data = new byte[] { 1, 0, 7 } };
        var destination = new ArrayBufferWriter<byte>();

        var exception = Assert.Throws<ArgumentException>(() => InferenceCodec.WriteRequest(destination, new InferenceRequest { Inputs = [input] }, binaryInputs: true));

        Assert.Contains("BOOL element 2 is 7", exception.Message);
        Assert.Equal(0, destination.WrittenCount);
    }

    [Fact]
    public void WriteResponse_MalformedBytesLayout_ThrowsArgumentException()
    {
        var output = new InferenceTensor { Name = "s", DataType = TensorDataType.Bytes, Shape = [1], Data = new byte[] { 9, 0, 0, 0, 1 } };
        var destination = new ArrayBufferWriter<byte>();

        Assert.Throws<ArgumentException>(() => InferenceCodec.WriteResponse(destination, new InferenceResponse { ModelName = "m", Outputs = [output] }, _ => true));
        Assert.Equal(0, destination.WrittenCount);
    }

    [Fact]
    public void WriteRequest_IntoPipeLikeWriter_LargeBinaryCopiedInChunks()
    {
        var values = new float[1 << 19];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i * 0.25f;
        }

        var input = new InferenceTensor { Name = "big", DataType = TensorDataType.Fp32, Shape = [values.Length], Data = Le(values) };
        var destination = new SmallSpanWriter();

        var headerLength = InferenceCodec.WriteRequest(destination, new InferenceRequest { Inputs = [input] }, binaryInputs: true);

        using var read = InferenceCodec.ReadRequest(destination.ToArray(), headerLength);
        AssertSameTensor(input, read.Inputs[0]);
    }

    private static List<string> AllPropertyNames(JsonElement element)
    {
        var names = new List<string>();
        foreach (var property in element.EnumerateObject())
        {
            names.Add(property.Name);
        }

        return names;
    }

    /// <summary>Hands out at most 4 KiB at a time, as a pipe's segments do.</summary>
    private sealed class SmallSpanWriter : IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private readonly byte[] _segment = new byte[4096];

        public void Advance(int count) => _written.AddRange(_segment.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0) => _segment;

        public Span<byte> GetSpan(int sizeHint = 0) => _segment;

        public byte[] ToArray() => [.. _written];
    }
}
