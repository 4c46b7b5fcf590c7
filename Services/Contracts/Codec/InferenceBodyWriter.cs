using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Contracts.Codec;

/// <summary>
/// Writes request and response bodies: the JSON part with a <see cref="Utf8JsonWriter"/>, then the
/// binary tensors in the order the JSON lists them.
/// </summary>
/// <remarks>
/// Every tensor is checked before the first byte is written, so a tensor that cannot be written
/// leaves the destination untouched.
/// </remarks>
internal static class InferenceBodyWriter
{
    // IBufferWriter implementations differ in how they serve huge hints; bounded chunks suit them all.
    private const int CopyChunkSize = 1 << 20;

    private static readonly JsonEncodedText[] DataTypeNames = CreateDataTypeNames();

    public static int? WriteRequest(IBufferWriter<byte> destination, InferenceRequest request, bool binaryInputs)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(request);

        var inputs = request.Inputs;
        for (var i = 0; i < inputs.Count; i++)
        {
            CheckTensor(inputs[i], "inputs", i, binaryInputs);
        }

        int headerLength;
        using (var writer = new Utf8JsonWriter(destination))
        {
            writer.WriteStartObject();
            if (request.Id is not null)
            {
                writer.WriteString("id"u8, request.Id);
            }

            WriteParameters(writer, request.Parameters, skipBinaryDataSize: false);

            writer.WriteStartArray("inputs"u8);
            for (var i = 0; i < inputs.Count; i++)
            {
                WriteTensor(writer, inputs[i], binaryInputs);
            }

            writer.WriteEndArray();

            if (request.Outputs is { } outputs)
            {
                writer.WriteStartArray("outputs"u8);
                foreach (var output in outputs)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name"u8, output.Name);
                    WriteParameters(writer, output.Parameters, skipBinaryDataSize: false);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.Flush();
            headerLength = checked((int)writer.BytesCommitted);
        }

        if (!binaryInputs || inputs.Count == 0)
        {
            return null;
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            CopyRaw(destination, inputs[i].Data.Span);
        }

        return headerLength;
    }

    public static int? WriteResponse(IBufferWriter<byte> destination, InferenceResponse response, Func<string, bool>? binaryOutput)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(response);

        // Asked once per output, so the JSON and the binary part cannot disagree.
        var outputs = response.Outputs;
        const int StackLimit = 256;
        Span<bool> binary = outputs.Count <= StackLimit ? stackalloc bool[outputs.Count] : new bool[outputs.Count];
        var anyBinary = false;
        for (var i = 0; i < outputs.Count; i++)
        {
            binary[i] = binaryOutput is not null && binaryOutput(outputs[i].Name);
            anyBinary |= binary[i];
            CheckTensor(outputs[i], "outputs", i, binary[i]);
        }

        int headerLength;
        using (var writer = new Utf8JsonWriter(destination))
        {
            writer.WriteStartObject();
            writer.WriteString("model_name"u8, response.ModelName);
            if (response.ModelVersion is not null)
            {
                writer.WriteString("model_version"u8, response.ModelVersion);
            }

            if (response.Id is not null)
            {
                writer.WriteString("id"u8, response.Id);
            }

            WriteParameters(writer, response.Parameters, skipBinaryDataSize: false);

            writer.WriteStartArray("outputs"u8);
            for (var i = 0; i < outputs.Count; i++)
            {
                WriteTensor(writer, outputs[i], binary[i]);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            headerLength = checked((int)writer.BytesCommitted);
        }

        if (!anyBinary)
        {
            return null;
        }

        for (var i = 0; i < outputs.Count; i++)
        {
            if (binary[i])
            {
                CopyRaw(destination, outputs[i].Data.Span);
            }
        }

        return headerLength;
    }

    /// <summary>
    /// A tensor whose data is not whole elements is the caller's bug; a BYTES element that is not
    /// UTF-8 is only unwritable as JSON, which the client can avoid by asking for binary data.
    /// </summary>
    private static void CheckTensor(InferenceTensor tensor, string section, int index, bool binary)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var data = tensor.Data.Span;
        if (tensor.DataType != TensorDataType.Bytes)
        {
            if (data.Length % tensor.DataType.ElementSize != 0)
            {
                throw new ArgumentException(
                    $"{section}[{Invariant(index)}] '{tensor.Name}': {Invariant(data.Length)} bytes are not whole {tensor.DataType.ProtocolName} elements",
                    nameof(tensor));
            }

            var notBool = tensor.DataType == TensorDataType.Bool ? data.IndexOfAnyExcept((byte)0, (byte)1) : -1;
            if (notBool >= 0)
            {
                throw new ArgumentException(
                    $"{section}[{Invariant(index)}] '{tensor.Name}': BOOL element {Invariant(notBool)} is {Invariant(data[notBool])}; the raw layout allows only 0 and 1",
                    nameof(tensor));
            }

            return;
        }

        if (!BytesLayout.TryCount(data, out var element, out var failedAt))
        {
            throw new ArgumentException(
                $"{section}[{Invariant(index)}] '{tensor.Name}': BYTES element {Invariant(element)} at byte {Invariant(failedAt)} has a length prefix that runs past the data",
                nameof(tensor));
        }

        if (binary)
        {
            return;
        }

        var offset = 0;
        for (long i = 0; offset < data.Length; i++)
        {
            if (!Utf8.IsValid(BytesLayout.Next(data, ref offset)))
            {
                throw new InferenceProtocolException(
                    $"{section}[{Invariant(index)}].data: element {Invariant(i)} is not UTF-8 text, which JSON cannot carry; ask for '{tensor.Name}' as binary data (parameters.{ProtocolParameters.BinaryData})");
            }
        }
    }

    private static void WriteTensor(Utf8JsonWriter writer, InferenceTensor tensor, bool binary)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, tensor.Name);

        writer.WriteStartArray("shape"u8);
        foreach (var dimension in tensor.Shape)
        {
            writer.WriteNumberValue(dimension);
        }

        writer.WriteEndArray();
        writer.WriteString("datatype"u8, DataTypeNames[(int)tensor.DataType]);

        if (binary)
        {
            // The codec owns binary_data_size: a stale one in the tensor's parameters is replaced.
            writer.WriteStartObject("parameters"u8);
            WriteParameterEntries(writer, tensor.Parameters, skipBinaryDataSize: true);
            writer.WriteNumber("binary_data_size"u8, tensor.Data.Length);
            writer.WriteEndObject();
        }
        else
        {
            WriteParameters(writer, tensor.Parameters, skipBinaryDataSize: true);
            writer.WriteStartArray("data"u8);
            WriteData(writer, tensor.DataType, tensor.Data.Span);
            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteParameters(Utf8JsonWriter writer, IReadOnlyDictionary<string, JsonElement>? parameters, bool skipBinaryDataSize)
    {
        if (parameters is null || parameters.Count == 0
            || (skipBinaryDataSize && parameters.Count == 1 && parameters.ContainsKey(ProtocolParameters.BinaryDataSize)))
        {
            return;
        }

        writer.WriteStartObject("parameters"u8);
        WriteParameterEntries(writer, parameters, skipBinaryDataSize);
        writer.WriteEndObject();
    }

    private static void WriteParameterEntries(Utf8JsonWriter writer, IReadOnlyDictionary<string, JsonElement>? parameters, bool skipBinaryDataSize)
    {
        if (parameters is null)
        {
            return;
        }

        foreach (var (name, value) in parameters)
        {
            if (skipBinaryDataSize && name == ProtocolParameters.BinaryDataSize)
            {
                continue;
            }

            writer.WritePropertyName(name);
            value.WriteTo(writer);
        }
    }

    private static void WriteData(Utf8JsonWriter writer, TensorDataType dataType, ReadOnlySpan<byte> data)
    {
        switch (dataType)
        {
            case TensorDataType.Bool: WriteFixed<BoolElement>(writer, data); break;
            case TensorDataType.UInt8: WriteFixed<UInt8Element>(writer, data); break;
            case TensorDataType.UInt16: WriteFixed<UInt16Element>(writer, data); break;
            case TensorDataType.UInt32: WriteFixed<UInt32Element>(writer, data); break;
            case TensorDataType.UInt64: WriteFixed<UInt64Element>(writer, data); break;
            case TensorDataType.Int8: WriteFixed<Int8Element>(writer, data); break;
            case TensorDataType.Int16: WriteFixed<Int16Element>(writer, data); break;
            case TensorDataType.Int32: WriteFixed<Int32Element>(writer, data); break;
            case TensorDataType.Int64: WriteFixed<Int64Element>(writer, data); break;
            case TensorDataType.Fp16: WriteFixed<Fp16Element>(writer, data); break;
            case TensorDataType.Fp32: WriteFixed<Fp32Element>(writer, data); break;
            case TensorDataType.Fp64: WriteFixed<Fp64Element>(writer, data); break;
            default:
                var offset = 0;
                while (offset < data.Length)
                {
                    writer.WriteStringValue(BytesLayout.Next(data, ref offset));
                }

                break;
        }
    }

    private static void WriteFixed<TElement>(Utf8JsonWriter writer, ReadOnlySpan<byte> data)
        where TElement : struct, IElementCodec
    {
        var size = TElement.Size;
        for (var offset = 0; offset + size <= data.Length; offset += size)
        {
            TElement.Write(writer, data.Slice(offset, size));
        }
    }

    private static void CopyRaw(IBufferWriter<byte> destination, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var span = destination.GetSpan(Math.Min(data.Length, CopyChunkSize));
            var length = Math.Min(span.Length, data.Length);
            data[..length].CopyTo(span);
            destination.Advance(length);
            data = data[length..];
        }
    }

    private static JsonEncodedText[] CreateDataTypeNames()
    {
        var values = Enum.GetValues<TensorDataType>();
        var names = new JsonEncodedText[values.Length];
        foreach (var value in values)
        {
            names[(int)value] = JsonEncodedText.Encode(value.ProtocolName);
        }

        return names;
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
