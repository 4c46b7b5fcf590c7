using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.Collections;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Grpc;

/// <summary>
/// Turns a <see cref="ModelInferRequest"/> into the <see cref="InferenceRequest"/> the REST codec produces, so both
/// protocols share one validation and one inference path. Raw contents are used where they are, never copied; typed
/// contents are laid out raw in pooled buffers the request owns.
/// </summary>
/// <remarks>Every failure is an <see cref="InferenceProtocolException"/> whose message starts with the field at fault.</remarks>
internal static class GrpcRequestReader
{
    // As the REST codec: no model has more, and a bound keeps a hostile shape cheap to refuse.
    private const int MaxRank = 64;

    public static InferenceRequest Read(ModelInferRequest message)
    {
        var raw = message.RawInputContents;
        if (raw.Count > 0 && raw.Count != message.Inputs.Count)
        {
            throw Error(
                $"raw_input_contents: {Invariant(raw.Count)} entries for {Invariant(message.Inputs.Count)} inputs; send one per input, in the order of inputs, or none");
        }

        var buffers = new PooledBuffers();
        try
        {
            var inputs = new InferenceTensor[message.Inputs.Count];
            for (var i = 0; i < inputs.Length; i++)
            {
                inputs[i] = ReadInput(message.Inputs[i], i, raw.Count > 0 ? raw[i] : null, buffers);
            }

            return new InferenceRequest
            {
                Id = message.Id.Length == 0 ? null : message.Id,
                Parameters = GrpcParameters.Read(message.Parameters, "parameters"),
                Inputs = inputs,
                Outputs = ReadOutputs(message.Outputs),
                Resources = buffers,
            };
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
    }

    private static InferenceTensor ReadInput(ModelInferRequest.Types.InferInputTensor input, int index, ByteString? raw, PooledBuffers buffers)
    {
        var field = $"inputs[{Invariant(index)}]";
        if (input.Name.Length == 0)
        {
            throw Error($"{field}.name: required");
        }

        if (!TensorDataTypes.TryParse(input.Datatype, out var dataType))
        {
            throw Error($"{field}.datatype: unknown datatype '{Truncate(input.Datatype)}'; expected one of {TensorDataTypes.AllNames}");
        }

        var shape = ReadShape(input.Shape, field, dataType, out var count);
        var contentCounts = ContentCounts(input.Contents);
        ReadOnlyMemory<byte> data;
        if (raw is not null)
        {
            if (contentCounts.Any(content => content.Count > 0))
            {
                throw Error($"{field}.contents: the request sends raw_input_contents, so no input may also have typed contents");
            }

            data = ReadRaw(raw.Memory, $"raw_input_contents[{Invariant(index)}]", dataType, shape, count);
        }
        else
        {
            data = ReadTyped(input.Contents, contentCounts, $"{field}.contents", dataType, shape, count, buffers);
        }

        return new InferenceTensor
        {
            Name = input.Name,
            DataType = dataType,
            Shape = shape,
            Data = data,
            Parameters = GrpcParameters.Read(input.Parameters, $"{field}.parameters"),
        };
    }

    private static long[] ReadShape(RepeatedField<long> dimensions, string field, TensorDataType dataType, out long count)
    {
        if (dimensions.Count > MaxRank)
        {
            throw Error($"{field}.shape: more than {Invariant(MaxRank)} dimensions");
        }

        var shape = new long[dimensions.Count];
        for (var d = 0; d < shape.Length; d++)
        {
            shape[d] = dimensions[d];
            if (shape[d] < 0)
            {
                throw Error($"{field}.shape: dimension {Invariant(d)} is {Invariant(shape[d])}; expected a non-negative integer");
            }
        }

        if (!TensorShape.TryGetElementCount(shape, out count) || count * dataType.ElementSize > Array.MaxLength)
        {
            throw Error($"{field}.shape: {TensorShape.Format(shape)} of {dataType.ProtocolName} is beyond the largest tensor ({Invariant(Array.MaxLength)} bytes)");
        }

        return shape;
    }

    private static ReadOnlyMemory<byte> ReadRaw(ReadOnlyMemory<byte> data, string field, TensorDataType dataType, long[] shape, long count)
    {
        if (dataType == TensorDataType.Bytes)
        {
            if (!BytesLayout.TryCount(data.Span, out var elements, out var failedAt))
            {
                throw Error(
                    $"{field}: BYTES element {Invariant(elements)} at byte {Invariant(failedAt)} has a length prefix that runs past the end of the {Invariant(data.Length)} bytes");
            }

            if (elements != count)
            {
                throw Error($"{field}: expected {Invariant(count)} BYTES elements for shape {TensorShape.Format(shape)}, got {Invariant(elements)}");
            }

            return data;
        }

        var expected = count * dataType.ElementSize;
        if (data.Length != expected)
        {
            throw Error($"{field}: expected {Invariant(expected)} bytes for {dataType.ProtocolName} {TensorShape.Format(shape)}, got {Invariant(data.Length)}");
        }

        if (dataType == TensorDataType.Bool && data.Span.IndexOfAnyExcept((byte)0, (byte)1) is var bad and >= 0)
        {
            throw Error($"{field}: BOOL element {Invariant(bad)} is {Invariant(data.Span[bad])}; expected 0 or 1");
        }

        return data;
    }

    private static ReadOnlyMemory<byte> ReadTyped(
        InferTensorContents? contents, (string Name, int Count)[] counts, string field, TensorDataType dataType, long[] shape, long count, PooledBuffers buffers)
    {
        if (dataType == TensorDataType.Fp16)
        {
            if (count > 0 || counts.Any(content => content.Count > 0))
            {
                throw Error($"{field}: FP16 has no typed contents; send the tensor in raw_input_contents");
            }

            return ReadOnlyMemory<byte>.Empty;
        }

        var expectedField = ContentField(dataType);
        foreach (var (name, given) in counts)
        {
            if (name != expectedField && given > 0)
            {
                throw Error($"{field}.{name}: a {dataType.ProtocolName} input takes its values in {expectedField}, not {name}");
            }
        }

        var actual = Array.Find(counts, content => content.Name == expectedField).Count;
        if (actual != count)
        {
            throw Error($"{field}.{expectedField}: expected {Invariant(count)} values for {dataType.ProtocolName} {TensorShape.Format(shape)}, got {Invariant(actual)}");
        }

        if (contents is null)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var values = $"{field}.{expectedField}";
        return dataType switch
        {
            TensorDataType.Bool => ReadBools(contents.BoolContents, buffers),
            TensorDataType.Int8 => Narrow<int, sbyte>(contents.IntContents, values, dataType, buffers),
            TensorDataType.Int16 => Narrow<int, short>(contents.IntContents, values, dataType, buffers),
            TensorDataType.Int32 => Copy(contents.IntContents, buffers),
            TensorDataType.Int64 => Copy(contents.Int64Contents, buffers),
            TensorDataType.UInt8 => Narrow<uint, byte>(contents.UintContents, values, dataType, buffers),
            TensorDataType.UInt16 => Narrow<uint, ushort>(contents.UintContents, values, dataType, buffers),
            TensorDataType.UInt32 => Copy(contents.UintContents, buffers),
            TensorDataType.UInt64 => Copy(contents.Uint64Contents, buffers),
            TensorDataType.Fp32 => Copy(contents.Fp32Contents, buffers),
            TensorDataType.Fp64 => Copy(contents.Fp64Contents, buffers),
            _ => ReadBytes(contents.BytesContents, values, buffers),
        };
    }

    /// <summary>The field of <see cref="InferTensorContents"/> that carries a datatype's values.</summary>
    internal static string ContentField(TensorDataType dataType) => dataType switch
    {
        TensorDataType.Bool => "bool_contents",
        TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => "int_contents",
        TensorDataType.Int64 => "int64_contents",
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => "uint_contents",
        TensorDataType.UInt64 => "uint64_contents",
        TensorDataType.Fp32 => "fp32_contents",
        TensorDataType.Fp64 => "fp64_contents",
        TensorDataType.Bytes => "bytes_contents",
        _ => "none",
    };

    private static (string Name, int Count)[] ContentCounts(InferTensorContents? contents) =>
    [
        ("bool_contents", contents?.BoolContents.Count ?? 0),
        ("int_contents", contents?.IntContents.Count ?? 0),
        ("int64_contents", contents?.Int64Contents.Count ?? 0),
        ("uint_contents", contents?.UintContents.Count ?? 0),
        ("uint64_contents", contents?.Uint64Contents.Count ?? 0),
        ("fp32_contents", contents?.Fp32Contents.Count ?? 0),
        ("fp64_contents", contents?.Fp64Contents.Count ?? 0),
        ("bytes_contents", contents?.BytesContents.Count ?? 0),
    ];

    /// <summary>Values whose protobuf type is the datatype's own, laid out as they are (little-endian, as every platform .NET runs ONNX Runtime on).</summary>
    private static ReadOnlyMemory<byte> Copy<T>(RepeatedField<T> values, PooledBuffers buffers)
        where T : unmanaged
    {
        var array = Rent<T>(values.Count, buffers);
        var destination = MemoryMarshal.Cast<byte, T>(array.Span);
        for (var i = 0; i < values.Count; i++)
        {
            destination[i] = values[i];
        }

        return array;
    }

    /// <summary>Values a wider protobuf type carries (INT8 in an int32), each checked to fit.</summary>
    private static ReadOnlyMemory<byte> Narrow<TSource, T>(RepeatedField<TSource> values, string field, TensorDataType dataType, PooledBuffers buffers)
        where TSource : unmanaged, IBinaryInteger<TSource>
        where T : unmanaged, IBinaryInteger<T>
    {
        var array = Rent<T>(values.Count, buffers);
        var destination = MemoryMarshal.Cast<byte, T>(array.Span);
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            var narrowed = T.CreateTruncating(value);
            if (TSource.CreateTruncating(narrowed) != value)
            {
                throw Error($"{field}[{Invariant(i)}]: {value.ToString(null, CultureInfo.InvariantCulture)} is outside the range of {dataType.ProtocolName}");
            }

            destination[i] = narrowed;
        }

        return array;
    }

    private static ReadOnlyMemory<byte> ReadBools(RepeatedField<bool> values, PooledBuffers buffers)
    {
        var array = Rent<byte>(values.Count, buffers);
        var destination = array.Span;
        for (var i = 0; i < values.Count; i++)
        {
            destination[i] = values[i] ? (byte)1 : (byte)0;
        }

        return array;
    }

    private static ReadOnlyMemory<byte> ReadBytes(RepeatedField<ByteString> values, string field, PooledBuffers buffers)
    {
        long length = 0;
        foreach (var value in values)
        {
            length += BytesLayout.PrefixSize + value.Length;
        }

        if (length > Array.MaxLength)
        {
            throw Error($"{field}: {Invariant(length)} bytes in the raw layout, beyond the largest tensor ({Invariant(Array.MaxLength)} bytes)");
        }

        var array = buffers.Rent((int)length).AsMemory(0, (int)length);
        var destination = array.Span;
        foreach (var value in values)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)value.Length);
            value.Span.CopyTo(destination[BytesLayout.PrefixSize..]);
            destination = destination[(BytesLayout.PrefixSize + value.Length)..];
        }

        return array;
    }

    private static Memory<byte> Rent<T>(int count, PooledBuffers buffers)
        where T : unmanaged
    {
        var length = count * Unsafe.SizeOf<T>();
        return buffers.Rent(length).AsMemory(0, length);
    }

    private static RequestedOutput[]? ReadOutputs(RepeatedField<ModelInferRequest.Types.InferRequestedOutputTensor> outputs)
    {
        if (outputs.Count == 0)
        {
            return null;
        }

        var requested = new RequestedOutput[outputs.Count];
        for (var o = 0; o < requested.Length; o++)
        {
            var field = $"outputs[{Invariant(o)}]";
            if (outputs[o].Name.Length == 0)
            {
                throw Error($"{field}.name: required");
            }

            requested[o] = new RequestedOutput { Name = outputs[o].Name, Parameters = GrpcParameters.Read(outputs[o].Parameters, $"{field}.parameters") };
        }

        return requested;
    }

    /// <summary>A client's text in a message, cut short so an error cannot be made to echo megabytes.</summary>
    internal static string Truncate(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "...");

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static InferenceProtocolException Error(string message) => new(message);
}
