using System.Buffers.Binary;
using Google.Protobuf;
using F = MlPlatform.OnnxWriter.OnnxFieldNumbers;

namespace MlPlatform.OnnxWriter;

/// <summary>
/// Builds a single-graph ONNX model (default operator domain) and serialises it to the
/// protobuf file format that ONNX Runtime loads.
/// </summary>
public sealed class OnnxGraphBuilder
{
    // The default-domain opsets whose matching IR version is known (see IrVersionFor).
    private const int MinOpset = 7;
    private const int MaxOpset = 21;

    private const long DynamicDimension = -1;

    private readonly string _graphName;
    private readonly List<ValueInfoEntry> _inputs = [];
    private readonly List<ValueInfoEntry> _outputs = [];
    private readonly List<TensorEntry> _initializers = [];
    private readonly List<NodeEntry> _nodes = [];

    // Inputs, initializers and node outputs share one namespace; each value must be defined once.
    private readonly HashSet<string> _definedValues = new(StringComparer.Ordinal);
    private readonly HashSet<string> _outputNames = new(StringComparer.Ordinal);

    public OnnxGraphBuilder(string graphName)
    {
        ArgumentException.ThrowIfNullOrEmpty(graphName);
        _graphName = graphName;
    }

    /// <summary>Declares a graph input. In <paramref name="shape"/>, -1 marks a dynamic dimension; an empty shape is a scalar.</summary>
    public OnnxGraphBuilder Input(string name, OnnxElementType type, params long[] shape)
    {
        var info = CreateValueInfo(name, type, shape);
        Define(name);
        _inputs.Add(info);
        return this;
    }

    /// <summary>Declares a graph output. In <paramref name="shape"/>, -1 marks a dynamic dimension; an empty shape is a scalar.</summary>
    public OnnxGraphBuilder Output(string name, OnnxElementType type, params long[] shape)
    {
        var info = CreateValueInfo(name, type, shape);
        if (!_outputNames.Add(name))
        {
            throw new ArgumentException($"Output '{name}' is already declared.", nameof(name));
        }

        _outputs.Add(info);
        return this;
    }

    /// <summary>Adds a constant float tensor, stored as little-endian raw data.</summary>
    public OnnxGraphBuilder Initializer(string name, long[] shape, ReadOnlySpan<float> values)
    {
        var dims = ValidateTensorShape(name, shape, values.Length);
        var raw = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        }

        Define(name);
        _initializers.Add(new TensorEntry(name, dims, OnnxElementType.Float, raw, null));
        return this;
    }

    /// <summary>Adds a constant int64 tensor.</summary>
    public OnnxGraphBuilder Initializer(string name, long[] shape, ReadOnlySpan<long> values)
    {
        var dims = ValidateTensorShape(name, shape, values.Length);
        Define(name);
        _initializers.Add(new TensorEntry(name, dims, OnnxElementType.Int64, null, values.ToArray()));
        return this;
    }

    /// <summary>Appends a node; nodes must be added in topological order. An empty input name skips an optional input.</summary>
    public OnnxGraphBuilder Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(attributes);
        if (Array.Exists(inputs, input => input is null))
        {
            throw new ArgumentException("Input names must not be null.", nameof(inputs));
        }

        if (outputs.Length == 0 || Array.Exists(outputs, output => output is null))
        {
            throw new ArgumentException("A node needs at least one output, and output names must not be null.", nameof(outputs));
        }

        var attributeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var attribute in attributes)
        {
            // default(OnnxAttribute) has no name and no kind, and would serialise to an invalid attribute.
            if (attribute.Name is null || !attributeNames.Add(attribute.Name))
            {
                throw new ArgumentException("Attributes must come from the OnnxAttribute factories and have distinct names.", nameof(attributes));
            }
        }

        foreach (var output in outputs)
        {
            if (output.Length > 0)
            {
                Define(output);
            }
        }

        var name = $"{opType}_{_nodes.Count}";
        _nodes.Add(new NodeEntry(name, opType, (string[])inputs.Clone(), (string[])outputs.Clone(), (OnnxAttribute[])attributes.Clone()));
        return this;
    }

    /// <summary>Serialises the model, importing the default ONNX domain at <paramref name="opset"/>.</summary>
    public byte[] ToModelBytes(int opset = 13, string producerName = "MlPlatform")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(opset, MinOpset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(opset, MaxOpset);
        ArgumentNullException.ThrowIfNull(producerName);
        if (_outputs.Count == 0)
        {
            throw new InvalidOperationException("The graph has no outputs.");
        }

        var graph = WriteGraph();
        var opsetImport = ProtoFields.Message(output =>
        {
            output.WriteStringField(F.OperatorSetId.Domain, string.Empty);
            output.WriteInt64Field(F.OperatorSetId.Version, opset);
        });

        return ProtoFields.Message(output =>
        {
            output.WriteInt64Field(F.Model.IrVersion, IrVersionFor(opset));
            output.WriteStringField(F.Model.ProducerName, producerName);
            output.WriteStringField(F.Model.ProducerVersion, ProducerVersion);
            output.WriteMessageField(F.Model.Graph, graph);
            output.WriteMessageField(F.Model.OpsetImport, opsetImport);
        });
    }

    /// <summary>Writes the model to <paramref name="path"/>, creating its directory if missing.</summary>
    public void Save(string path, int opset = 13)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToModelBytes(opset);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllBytes(path, bytes);
    }

    // A fixed string rather than the informational version, which carries the commit id and
    // would make otherwise identical models differ byte for byte.
    private static string ProducerVersion { get; } =
        typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";

    // From the ONNX release table (docs/Versioning.md): the IR version released with each opset.
    // Older opsets still get IR 7, which runtimes accept with any earlier opset.
    private static long IrVersionFor(int opset) => opset switch
    {
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    private void Define(string name)
    {
        if (!_definedValues.Add(name))
        {
            throw new ArgumentException($"Value '{name}' is already defined by an input, initializer or node output.", nameof(name));
        }
    }

    private static ValueInfoEntry CreateValueInfo(string name, OnnxElementType type, long[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (!Enum.IsDefined(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type.");
        }

        foreach (var dim in shape)
        {
            if (dim < DynamicDimension)
            {
                throw new ArgumentOutOfRangeException(nameof(shape), dim, "Dimensions are sizes >= 0, or -1 for a dynamic dimension.");
            }
        }

        return new ValueInfoEntry(name, type, (long[])shape.Clone());
    }

    private static long[] ValidateTensorShape(string name, long[] shape, int valueCount)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var dim in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim, nameof(shape));
            count = checked(count * dim);
        }

        if (count != valueCount)
        {
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {count} values but {valueCount} were given.", nameof(shape));
        }

        return (long[])shape.Clone();
    }

    private byte[] WriteGraph()
    {
        var nodes = _nodes.ConvertAll(WriteNode);
        var initializers = _initializers.ConvertAll(WriteTensor);
        var inputs = _inputs.ConvertAll(WriteValueInfo);
        var outputs = _outputs.ConvertAll(WriteValueInfo);

        return ProtoFields.Message(output =>
        {
            foreach (var node in nodes)
            {
                output.WriteMessageField(F.Graph.Node, node);
            }

            output.WriteStringField(F.Graph.Name, _graphName);
            foreach (var initializer in initializers)
            {
                output.WriteMessageField(F.Graph.Initializer, initializer);
            }

            foreach (var input in inputs)
            {
                output.WriteMessageField(F.Graph.Input, input);
            }

            foreach (var graphOutput in outputs)
            {
                output.WriteMessageField(F.Graph.Output, graphOutput);
            }
        });
    }

    private static byte[] WriteNode(NodeEntry node)
    {
        var attributes = Array.ConvertAll(node.Attributes, WriteAttribute);
        return ProtoFields.Message(output =>
        {
            foreach (var input in node.Inputs)
            {
                output.WriteStringField(F.Node.Input, input);
            }

            foreach (var nodeOutput in node.Outputs)
            {
                output.WriteStringField(F.Node.Output, nodeOutput);
            }

            output.WriteStringField(F.Node.Name, node.Name);
            output.WriteStringField(F.Node.OpType, node.OpType);
            foreach (var attribute in attributes)
            {
                output.WriteMessageField(F.Node.Attribute, attribute);
            }
        });
    }

    private static byte[] WriteAttribute(OnnxAttribute attribute) => ProtoFields.Message(output =>
    {
        output.WriteStringField(F.Attribute.Name, attribute.Name);
        switch (attribute.Kind)
        {
            case OnnxAttributeKind.Float:
                output.WriteFloatField(F.Attribute.F, attribute.FloatValue);
                break;
            case OnnxAttributeKind.Int:
                output.WriteInt64Field(F.Attribute.I, attribute.IntValue);
                break;
            case OnnxAttributeKind.String:
                // AttributeProto.s is bytes holding UTF-8, which is exactly how protobuf writes a string.
                output.WriteStringField(F.Attribute.S, attribute.StringValue!);
                break;
            case OnnxAttributeKind.Floats:
                // proto2 repeated scalars without [packed = true] are written one tag per element.
                foreach (var value in attribute.FloatValues!)
                {
                    output.WriteFloatField(F.Attribute.Floats, value);
                }

                break;
            case OnnxAttributeKind.Ints:
                foreach (var value in attribute.IntValues!)
                {
                    output.WriteInt64Field(F.Attribute.Ints, value);
                }

                break;
            default:
                throw new InvalidOperationException($"Attribute '{attribute.Name}' has no value.");
        }

        output.WriteInt32Field(F.Attribute.Type, (int)attribute.Kind);
    });

    private static byte[] WriteTensor(TensorEntry tensor) => ProtoFields.Message(output =>
    {
        foreach (var dim in tensor.Dims)
        {
            output.WriteInt64Field(F.Tensor.Dims, dim);
        }

        output.WriteInt32Field(F.Tensor.DataType, (int)tensor.ElementType);
        if (tensor.Int64Data is not null)
        {
            output.WritePackedInt64Field(F.Tensor.Int64Data, tensor.Int64Data);
        }

        output.WriteStringField(F.Tensor.Name, tensor.Name);
        if (tensor.RawData is not null)
        {
            output.WriteBytesField(F.Tensor.RawData, tensor.RawData);
        }
    });

    private static byte[] WriteValueInfo(ValueInfoEntry info)
    {
        var shape = ProtoFields.Message(output =>
        {
            for (var i = 0; i < info.Shape.Length; i++)
            {
                var dim = info.Shape[i];
                var dimension = ProtoFields.Message(d =>
                {
                    if (dim == DynamicDimension)
                    {
                        d.WriteStringField(F.Dimension.DimParam, i == 0 ? "batch" : $"d{i}");
                    }
                    else
                    {
                        d.WriteInt64Field(F.Dimension.DimValue, dim);
                    }
                });
                output.WriteMessageField(F.TensorShape.Dim, dimension);
            }
        });

        // The shape is always written, even when empty: an empty shape means rank 0 (a scalar),
        // while a missing one would mean "rank unknown".
        var tensorType = ProtoFields.Message(output =>
        {
            output.WriteInt32Field(F.TensorType.ElemType, (int)info.ElementType);
            output.WriteMessageField(F.TensorType.Shape, shape);
        });
        var type = ProtoFields.Message(output => output.WriteMessageField(F.Type.TensorType, tensorType));

        return ProtoFields.Message(output =>
        {
            output.WriteStringField(F.ValueInfo.Name, info.Name);
            output.WriteMessageField(F.ValueInfo.Type, type);
        });
    }

    private sealed record ValueInfoEntry(string Name, OnnxElementType ElementType, long[] Shape);

    private sealed record TensorEntry(string Name, long[] Dims, OnnxElementType ElementType, byte[]? RawData, long[]? Int64Data);

    private sealed record NodeEntry(string Name, string OpType, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes);
}
