using Google.Protobuf;

namespace MlPlatform.OnnxWriter.Tests;

/// <summary>Argument checks and the bytes of the model header, read back with the protobuf wire format.</summary>
public sealed class OnnxGraphBuilderTests
{
    [Theory]
    [InlineData(13, 7L)]
    [InlineData(15, 8L)]
    [InlineData(21, 10L)]
    public void ToModelBytes_Opset_WritesMatchingIrVersionAndOpsetImport(int opset, long expectedIrVersion)
    {
        var bytes = MinimalGraph().ToModelBytes(opset, "tests");

        var header = ReadHeader(bytes);

        Assert.Equal(expectedIrVersion, header.IrVersion);
        Assert.Equal(opset, header.OpsetVersion);
        Assert.Equal(string.Empty, header.OpsetDomain);
        Assert.Equal("tests", header.ProducerName);
        Assert.True(header.HasGraph);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(22)]
    public void ToModelBytes_OpsetWithUnknownIrVersion_Throws(int opset)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MinimalGraph().ToModelBytes(opset));
    }

    [Fact]
    public void ToModelBytes_SameGraphTwice_ProducesIdenticalBytes()
    {
        Assert.Equal(MinimalGraph().ToModelBytes(), MinimalGraph().ToModelBytes());
    }

    [Fact]
    public void ToModelBytes_NoOutputs_Throws()
    {
        var builder = new OnnxGraphBuilder("empty").Input("x", OnnxElementType.Float, 1);

        Assert.Throws<InvalidOperationException>(() => builder.ToModelBytes());
    }

    [Fact]
    public void Initializer_ValueCountDiffersFromShape_Throws()
    {
        var builder = new OnnxGraphBuilder("g");

        Assert.Throws<ArgumentException>(() => builder.Initializer("w", [2, 3], new float[5]));
        Assert.Throws<ArgumentException>(() => builder.Initializer("k", [], ReadOnlySpan<long>.Empty));
    }

    [Fact]
    public void Input_DimensionBelowMinusOne_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxGraphBuilder("g").Input("x", OnnxElementType.Float, -2));
    }

    [Fact]
    public void Node_OutputAlreadyDefinedByInput_Throws()
    {
        var builder = new OnnxGraphBuilder("g").Input("x", OnnxElementType.Float, 1);

        Assert.Throws<ArgumentException>(() => builder.Node("Identity", ["x"], ["x"]));
    }

    [Fact]
    public void Node_DefaultAttribute_Throws()
    {
        var builder = new OnnxGraphBuilder("g").Input("x", OnnxElementType.Float, 1);

        Assert.Throws<ArgumentException>(() => builder.Node("Identity", ["x"], ["y"], default(OnnxAttribute)));
    }

    [Fact]
    public void Ints_CallerMutatesArrayAfterwards_AttributeKeepsOriginalValues()
    {
        long[] values = [2, 2];
        var before = new OnnxGraphBuilder("g")
            .Input("x", OnnxElementType.Float, 1, 1, 4, 4)
            .Output("y", OnnxElementType.Float, 1, 1, 2, 2)
            .Node("MaxPool", ["x"], ["y"], OnnxAttribute.Ints("kernel_shape", values))
            .ToModelBytes();
        var attribute = OnnxAttribute.Ints("kernel_shape", values);
        values[0] = 3;
        var after = new OnnxGraphBuilder("g")
            .Input("x", OnnxElementType.Float, 1, 1, 4, 4)
            .Output("y", OnnxElementType.Float, 1, 1, 2, 2)
            .Node("MaxPool", ["x"], ["y"], attribute)
            .ToModelBytes();

        Assert.Equal(before, after);
    }

    [Fact]
    public void Input_EmptyShape_WritesRankZeroShapeRatherThanNone()
    {
        // ONNX Runtime accepts any feed for a scalar input, so the distinction is checked in the bytes:
        // an empty TensorShapeProto means rank 0, a missing one means unknown rank.
        var bytes = new OnnxGraphBuilder("g")
            .Input("n", OnnxElementType.Int64)
            .Output("m", OnnxElementType.Int64, -1, 2)
            .Node("Identity", ["n"], ["m"])
            .ToModelBytes();

        var graph = Assert.Single(LengthDelimited(bytes, 7));
        var input = Assert.Single(LengthDelimited(graph, 11));
        var tensorType = Assert.Single(LengthDelimited(Assert.Single(LengthDelimited(input, 2)), 1));
        var inputShape = Assert.Single(LengthDelimited(tensorType, 2));
        var output = Assert.Single(LengthDelimited(graph, 12));
        var outputShape = Assert.Single(LengthDelimited(Assert.Single(LengthDelimited(Assert.Single(LengthDelimited(output, 2)), 1)), 2));

        Assert.Empty(inputShape);
        Assert.Equal(2, LengthDelimited(outputShape, 1).Count);
    }

    private static List<byte[]> LengthDelimited(byte[] message, int fieldNumber)
    {
        var values = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == fieldNumber && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                values.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return values;
    }

    private static OnnxGraphBuilder MinimalGraph() => new OnnxGraphBuilder("minimal")
        .Input("x", OnnxElementType.Float, -1)
        .Output("y", OnnxElementType.Float, -1)
        .Node("Identity", ["x"], ["y"]);

    private static ModelHeader ReadHeader(byte[] model)
    {
        var header = new ModelHeader();
        var input = new CodedInputStream(model);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    header.IrVersion = input.ReadInt64();
                    break;
                case 2:
                    header.ProducerName = input.ReadString();
                    break;
                case 7:
                    header.HasGraph = input.ReadBytes().Length > 0;
                    break;
                case 8:
                    var opset = new CodedInputStream(input.ReadBytes().ToByteArray());
                    uint opsetTag;
                    while ((opsetTag = opset.ReadTag()) != 0)
                    {
                        if (WireFormat.GetTagFieldNumber(opsetTag) == 1)
                        {
                            header.OpsetDomain = opset.ReadString();
                        }
                        else if (WireFormat.GetTagFieldNumber(opsetTag) == 2)
                        {
                            header.OpsetVersion = opset.ReadInt64();
                        }
                        else
                        {
                            opset.SkipLastField();
                        }
                    }

                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return header;
    }

    private sealed class ModelHeader
    {
        public long IrVersion { get; set; }

        public string? ProducerName { get; set; }

        public string? OpsetDomain { get; set; }

        public long OpsetVersion { get; set; }

        public bool HasGraph { get; set; }
    }
}
