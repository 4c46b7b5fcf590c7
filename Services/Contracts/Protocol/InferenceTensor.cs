using System.Text.Json;

namespace MlPlatform.Contracts.Protocol;

/// <summary>
/// One input or output tensor in raw form: its elements row-major and little-endian, exactly the
/// layout of the protocol's binary tensor extension. A <see cref="TensorDataType.Bytes"/> tensor
/// holds each element as a 4-byte little-endian length followed by that many bytes.
/// </summary>
/// <remarks>
/// Both codecs produce and consume this one layout, so a binary tensor is never copied on the way
/// in and a JSON tensor is parsed straight into it, with no per-element objects.
/// </remarks>
public sealed class InferenceTensor
{
    public required string Name { get; init; }

    public required TensorDataType DataType { get; init; }

    public required long[] Shape { get; init; }

    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>Tensor parameters, without the codec's own <c>binary_data_size</c>.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    /// <summary>The number of elements the shape holds.</summary>
    public long ElementCount
    {
        get
        {
            TensorShape.TryGetElementCount(Shape, out var count);
            return count;
        }
    }
}

/// <summary>An output a client asked for, by name, with its parameters.</summary>
public sealed class RequestedOutput
{
    public required string Name { get; init; }

    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    /// <summary>The output's <c>binary_data</c> parameter, or null when the client did not say.</summary>
    public bool? BinaryData =>
        Parameters is not null && Parameters.TryGetValue(ProtocolParameters.BinaryData, out var value)
            && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;
}

/// <summary>Parameter names the protocol and its binary extension define.</summary>
public static class ProtocolParameters
{
    public const string BinaryDataSize = "binary_data_size";
    public const string BinaryData = "binary_data";
    public const string BinaryDataOutput = "binary_data_output";

    /// <summary>The HTTP header that gives the length of the JSON part of a binary body.</summary>
    public const string HeaderContentLength = "Inference-Header-Content-Length";

    /// <summary>The content type of a body that carries binary tensors after its JSON header.</summary>
    public const string BinaryContentType = "application/octet-stream";

    public const string JsonContentType = "application/json";
}
