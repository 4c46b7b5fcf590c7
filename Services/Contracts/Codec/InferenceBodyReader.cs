using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Contracts.Codec;

/// <summary>
/// Reads one request or response body in a single pass of a <see cref="Utf8JsonReader"/>: tensor
/// data is parsed straight into pooled buffers, binary tensors are sliced out of the body.
/// </summary>
/// <remarks>
/// The instance only lives for one read; it carries the parse position for error messages and the
/// buffers rented so far, so a failure anywhere can return them.
/// </remarks>
internal sealed class InferenceBodyReader
{
    // Tensor ranks in practice stay below 10; the caps only bound what a hostile body can make us do.
    private const int MaxRank = 64;
    private const int MaxDataDepth = 32;
    private const int MaxQuotedLength = 40;
    private const string NotText = "not valid text: bad UTF-8 or an unpaired surrogate escape";

    private readonly ReadOnlyMemory<byte> _body;
    private readonly int? _headerLength;
    private readonly int _jsonLength;
    private readonly ArrayPool<byte> _pool;
    private PooledBuffers? _buffers;

    // Absolute offset in the body where the next binary tensor starts.
    private int _binaryOffset;

    // Where the parser is, turned into a string only when something is wrong.
    private string _section = "body";
    private int _index = -1;
    private string? _field;

    private InferenceBodyReader(ReadOnlyMemory<byte> body, int? headerLength, int jsonLength, ArrayPool<byte> pool)
    {
        _body = body;
        _headerLength = headerLength;
        _jsonLength = jsonLength;
        _binaryOffset = jsonLength;
        _pool = pool;
    }

    public static InferenceRequest ReadRequest(ReadOnlyMemory<byte> body, int? headerLength, ArrayPool<byte> pool)
    {
        var state = new InferenceBodyReader(body, headerLength, CheckHeaderLength(body.Length, headerLength), pool);
        try
        {
            return state.ParseRequest();
        }
        catch (JsonException exception)
        {
            state._buffers?.Dispose();
            throw state.InvalidJson(exception);
        }
        catch
        {
            state._buffers?.Dispose();
            throw;
        }
    }

    public static InferenceResponse ReadResponse(ReadOnlyMemory<byte> body, int? headerLength, ArrayPool<byte> pool)
    {
        var state = new InferenceBodyReader(body, headerLength, CheckHeaderLength(body.Length, headerLength), pool);
        try
        {
            return state.ParseResponse();
        }
        catch (JsonException exception)
        {
            state._buffers?.Dispose();
            throw state.InvalidJson(exception);
        }
        catch
        {
            state._buffers?.Dispose();
            throw;
        }
    }

    private static int CheckHeaderLength(int bodyLength, int? headerLength)
    {
        if (headerLength is not { } length)
        {
            return bodyLength;
        }

        if (length <= 0)
        {
            throw new InferenceProtocolException(
                $"{ProtocolParameters.HeaderContentLength}: must be a positive number of bytes, got {Invariant(length)}");
        }

        if (length > bodyLength)
        {
            throw new InferenceProtocolException(
                $"{ProtocolParameters.HeaderContentLength}: {Invariant(length)} is larger than the body ({Invariant(bodyLength)} bytes)");
        }

        return length;
    }

    private InferenceRequest ParseRequest()
    {
        var reader = new Utf8JsonReader(_body.Span[.._jsonLength]);
        ReadRootStart(ref reader);

        string? id = null;
        Dictionary<string, JsonElement>? parameters = null;
        List<InferenceTensor>? inputs = null;
        List<RequestedOutput>? outputs = null;
        bool seenId = false, seenParameters = false, seenOutputs = false;
        while (ReadRootProperty(ref reader))
        {
            if (reader.ValueTextEquals("id"u8))
            {
                At("id");
                SeenOnce(ref seenId);
                id = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                At("parameters");
                SeenOnce(ref seenParameters);
                parameters = ReadParameters(ref reader, isTensor: false, out _);
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                At("inputs");
                if (inputs is not null)
                {
                    throw Error("appears more than once");
                }

                inputs = ReadTensors(ref reader);
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                At("outputs");
                SeenOnce(ref seenOutputs);
                outputs = ReadRequestedOutputs(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        ReadRootEnd(ref reader);
        if (inputs is null)
        {
            At("inputs");
            throw Error("required");
        }

        CheckBinaryConsumed();
        return new InferenceRequest
        {
            Id = id,
            Parameters = parameters,
            Inputs = inputs,
            Outputs = outputs,
            Resources = _buffers,
        };
    }

    private InferenceResponse ParseResponse()
    {
        var reader = new Utf8JsonReader(_body.Span[.._jsonLength]);
        ReadRootStart(ref reader);

        string? modelName = null;
        string? modelVersion = null;
        string? id = null;
        Dictionary<string, JsonElement>? parameters = null;
        List<InferenceTensor>? outputs = null;
        bool seenModelName = false, seenModelVersion = false, seenId = false, seenParameters = false;
        while (ReadRootProperty(ref reader))
        {
            if (reader.ValueTextEquals("model_name"u8))
            {
                At("model_name");
                SeenOnce(ref seenModelName);
                modelName = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("model_version"u8))
            {
                At("model_version");
                SeenOnce(ref seenModelVersion);
                modelVersion = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                At("id");
                SeenOnce(ref seenId);
                id = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                At("parameters");
                SeenOnce(ref seenParameters);
                parameters = ReadParameters(ref reader, isTensor: false, out _);
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                At("outputs");
                if (outputs is not null)
                {
                    throw Error("appears more than once");
                }

                outputs = ReadTensors(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        ReadRootEnd(ref reader);
        if (modelName is null)
        {
            At("model_name");
            throw Error("required");
        }

        if (outputs is null)
        {
            At("outputs");
            throw Error("required");
        }

        CheckBinaryConsumed();
        return new InferenceResponse
        {
            ModelName = modelName,
            ModelVersion = modelVersion,
            Id = id,
            Parameters = parameters,
            Outputs = outputs,
            Resources = _buffers,
        };
    }

    private void ReadRootStart(ref Utf8JsonReader reader)
    {
        At("body");
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error("expected a JSON object");
        }
    }

    private void ReadRootEnd(ref Utf8JsonReader reader)
    {
        At("body");

        // Throws on anything but whitespace after the object.
        reader.Read();
    }

    private bool ReadRootProperty(ref Utf8JsonReader reader)
    {
        At("body");
        return ReadProperty(ref reader);
    }

    /// <summary>Moves to the next property name of the current object; false at its end.</summary>
    private bool ReadProperty(ref Utf8JsonReader reader)
    {
        // Between properties the fault lies with the object, not with the field before.
        _field = null;
        Advance(ref reader);
        if (reader.TokenType != JsonTokenType.PropertyName)
        {
            return false;
        }

        // ValueTextEquals unescapes a name to compare it and throws InvalidOperationException on an escape that is
        // no text (a lone surrogate such as "\ud800"), which would be a 500: check an escaped name once, here.
        if (reader.ValueIsEscaped)
        {
            try
            {
                _ = reader.GetString();
            }
            catch (InvalidOperationException)
            {
                throw Error($"a property name is {NotText}");
            }
        }

        return true;
    }

    private void Advance(ref Utf8JsonReader reader)
    {
        // With the whole body at hand the reader throws on truncation; this only guards the contract.
        if (!reader.Read())
        {
            throw Error("the JSON ends early");
        }
    }

    private void SeenOnce(ref bool seen)
    {
        if (seen)
        {
            throw Error("appears more than once");
        }

        seen = true;
    }

    private List<InferenceTensor> ReadTensors(ref Utf8JsonReader reader)
    {
        Advance(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error($"expected an array of tensors, got {Describe(ref reader)}");
        }

        var section = _section;
        var tensors = new List<InferenceTensor>();
        HashSet<string>? names = null;
        while (true)
        {
            Advance(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            At(section, tensors.Count);
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error($"expected a tensor object, got {Describe(ref reader)}");
            }

            var tensor = ReadTensor(ref reader);
            if (IsDuplicate(tensors, tensor.Name, ref names))
            {
                throw Error($"duplicate name '{Truncate(tensor.Name)}'", "name");
            }

            tensors.Add(tensor);
            At(section);
        }

        return tensors;
    }

    private InferenceTensor ReadTensor(ref Utf8JsonReader reader)
    {
        string? name = null;
        long[]? shape = null;
        TensorDataType? dataType = null;
        Dictionary<string, JsonElement>? parameters = null;
        long? binarySize = null;
        bool seenParameters = false, seenData = false, dataParsed = false;
        ReadOnlyMemory<byte> data = default;
        Utf8JsonReader deferredData = default;

        while (ReadProperty(ref reader))
        {
            if (reader.ValueTextEquals("name"u8))
            {
                _field = "name";
                if (name is not null)
                {
                    throw Error("appears more than once");
                }

                name = ReadName(ref reader);
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                _field = "shape";
                if (shape is not null)
                {
                    throw Error("appears more than once");
                }

                shape = ReadShape(ref reader);
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                _field = "datatype";
                if (dataType is not null)
                {
                    throw Error("appears more than once");
                }

                dataType = ReadDataType(ref reader);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                _field = "parameters";
                SeenOnce(ref seenParameters);
                parameters = ReadParameters(ref reader, isTensor: true, out binarySize);
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                _field = "data";
                SeenOnce(ref seenData);
                Advance(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw Error($"expected an array, got {Describe(ref reader)}");
                }

                if (binarySize is not null)
                {
                    throw Error($"a tensor has either data or parameters.{ProtocolParameters.BinaryDataSize}, not both");
                }

                if (shape is not null && dataType is { } knownType)
                {
                    data = ReadJsonData(ref reader, knownType, CheckElementCount(shape, knownType), shape);
                    dataParsed = true;
                }
                else
                {
                    // JSON objects are unordered: come back once shape and datatype are known.
                    deferredData = reader;
                    reader.Skip();
                }
            }
            else
            {
                reader.Skip();
            }
        }

        _field = null;
        if (name is null)
        {
            throw Error("required", "name");
        }

        if (shape is null)
        {
            throw Error("required", "shape");
        }

        if (dataType is not { } type)
        {
            throw Error("required", "datatype");
        }

        var count = CheckElementCount(shape, type);
        if (binarySize is { } size)
        {
            if (seenData)
            {
                throw Error($"a tensor has either data or parameters.{ProtocolParameters.BinaryDataSize}, not both", "data");
            }

            data = SliceBinary(size, type, count, shape);
        }
        else if (!seenData)
        {
            throw Error($"required, unless the tensor is sent as binary data with parameters.{ProtocolParameters.BinaryDataSize}", "data");
        }
        else if (!dataParsed)
        {
            _field = "data";
            data = ReadJsonData(ref deferredData, type, count, shape);
            _field = null;
        }

        return new InferenceTensor
        {
            Name = name,
            DataType = type,
            Shape = shape,
            Data = data,
            Parameters = parameters,
        };
    }

    private List<RequestedOutput>? ReadRequestedOutputs(ref Utf8JsonReader reader)
    {
        Advance(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error($"expected an array of requested outputs, got {Describe(ref reader)}");
        }

        var outputs = new List<RequestedOutput>();
        HashSet<string>? names = null;
        while (true)
        {
            Advance(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            At("outputs", outputs.Count);
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error($"expected an object, got {Describe(ref reader)}");
            }

            string? name = null;
            Dictionary<string, JsonElement>? parameters = null;
            var seenParameters = false;
            while (ReadProperty(ref reader))
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    _field = "name";
                    if (name is not null)
                    {
                        throw Error("appears more than once");
                    }

                    name = ReadName(ref reader);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    _field = "parameters";
                    SeenOnce(ref seenParameters);
                    parameters = ReadParameters(ref reader, isTensor: false, out _);
                }
                else
                {
                    reader.Skip();
                }
            }

            _field = null;
            if (name is null)
            {
                throw Error("required", "name");
            }

            if (IsDuplicate(outputs, name, ref names))
            {
                throw Error($"duplicate name '{Truncate(name)}'", "name");
            }

            outputs.Add(new RequestedOutput { Name = name, Parameters = parameters });
            At("outputs");
        }

        return outputs;
    }

    private static bool IsDuplicate(List<InferenceTensor> tensors, string name, ref HashSet<string>? names)
    {
        // A linear scan is cheapest for the handful of tensors a request usually has.
        const int ScanLimit = 8;
        if (names is null && tensors.Count <= ScanLimit)
        {
            foreach (var tensor in tensors)
            {
                if (tensor.Name == name)
                {
                    return true;
                }
            }

            return false;
        }

        if (names is null)
        {
            names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tensor in tensors)
            {
                names.Add(tensor.Name);
            }
        }

        return !names.Add(name);
    }

    private static bool IsDuplicate(List<RequestedOutput> outputs, string name, ref HashSet<string>? names)
    {
        const int ScanLimit = 8;
        if (names is null && outputs.Count <= ScanLimit)
        {
            foreach (var output in outputs)
            {
                if (output.Name == name)
                {
                    return true;
                }
            }

            return false;
        }

        if (names is null)
        {
            names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var output in outputs)
            {
                names.Add(output.Name);
            }
        }

        return !names.Add(name);
    }

    private string? ReadOptionalString(ref Utf8JsonReader reader)
    {
        Advance(ref reader);
        return reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => GetString(ref reader),
            _ => throw Error($"expected a string, got {Describe(ref reader)}"),
        };
    }

    private string ReadName(ref Utf8JsonReader reader)
    {
        Advance(ref reader);
        if (reader.TokenType != JsonTokenType.String)
        {
            throw Error($"expected a string, got {Describe(ref reader)}");
        }

        var name = GetString(ref reader);
        return name.Length == 0 ? throw Error("must not be empty") : name;
    }

    private string GetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Error(NotText);
        }
    }

    private long[] ReadShape(ref Utf8JsonReader reader)
    {
        Advance(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error($"expected an array of non-negative integers, got {Describe(ref reader)}");
        }

        Span<long> dimensions = stackalloc long[MaxRank];
        var rank = 0;
        while (true)
        {
            Advance(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            if (rank == MaxRank)
            {
                throw Error($"more than {Invariant(MaxRank)} dimensions");
            }

            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dimension) || dimension < 0)
            {
                throw Error($"dimension {Invariant(rank)} is {Describe(ref reader)}; expected a non-negative integer");
            }

            dimensions[rank++] = dimension;
        }

        return dimensions[..rank].ToArray();
    }

    private TensorDataType ReadDataType(ref Utf8JsonReader reader)
    {
        Advance(ref reader);
        if (reader.TokenType != JsonTokenType.String)
        {
            throw Error($"expected a string, got {Describe(ref reader)}");
        }

        // Datatype names are short ASCII; anything longer cannot be one.
        const int MaxNameLength = 16;
        if (reader.ValueSpan.Length <= MaxNameLength)
        {
            Span<byte> utf8 = stackalloc byte[MaxNameLength];
            Span<char> chars = stackalloc char[MaxNameLength];
            var length = 0;
            try
            {
                length = reader.CopyString(utf8);
            }
            catch (InvalidOperationException)
            {
                length = -1;
            }

            if (length >= 0)
            {
                for (var i = 0; i < length; i++)
                {
                    chars[i] = (char)utf8[i];
                }

                if (TensorDataTypes.TryParse(chars[..length], out var dataType))
                {
                    return dataType;
                }
            }
        }

        throw Error($"unknown datatype {Describe(ref reader)}; expected one of {TensorDataTypes.AllNames}");
    }

    /// <summary>
    /// A parameters object as JSON elements that outlive the body. For a tensor, takes out the codec's
    /// own <c>binary_data_size</c>. Null when there is nothing left.
    /// </summary>
    private Dictionary<string, JsonElement>? ReadParameters(ref Utf8JsonReader reader, bool isTensor, out long? binarySize)
    {
        binarySize = null;
        Advance(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"expected an object, got {Describe(ref reader)}");
        }

        // One document per parameters object, not pooled, so the elements need no disposal.
        var parameters = JsonElement.ParseValue(ref reader);
        Dictionary<string, JsonElement>? result = null;
        try
        {
            foreach (var parameter in parameters.EnumerateObject())
            {
                if (isTensor && parameter.NameEquals(ProtocolParameters.BinaryDataSize))
                {
                    var field = $"{_field}.{ProtocolParameters.BinaryDataSize}";
                    if (binarySize is not null)
                    {
                        throw Error("appears more than once", field);
                    }

                    if (parameter.Value.ValueKind != JsonValueKind.Number
                        || !parameter.Value.TryGetInt64(out var size) || size < 0)
                    {
                        throw Error($"expected a non-negative integer, got {Truncate(parameter.Value.GetRawText())}", field);
                    }

                    binarySize = size;
                    continue;
                }

                result ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                result[parameter.Name] = parameter.Value;
            }
        }
        catch (InvalidOperationException)
        {
            throw Error($"a parameter name is {NotText}");
        }

        return result;
    }

    /// <summary>The element count of a valid shape, checked against what one buffer can hold.</summary>
    private long CheckElementCount(long[] shape, TensorDataType dataType)
    {
        // Bounding each dimension first keeps the running product far from overflowing a long.
        var fits = true;
        foreach (var dimension in shape)
        {
            fits &= dimension <= Array.MaxLength;
        }

        if (!fits || !TensorShape.TryGetElementCount(shape, out var count))
        {
            throw Error($"{TensorShape.Format(shape)} is beyond the largest tensor ({Invariant(Array.MaxLength)} elements)", "shape");
        }

        var bytes = count * dataType.ElementSize;
        if (bytes > Array.MaxLength)
        {
            throw Error(
                $"{TensorShape.Format(shape)} of {dataType.ProtocolName} takes {Invariant(bytes)} bytes, beyond the largest tensor ({Invariant(Array.MaxLength)} bytes)",
                "shape");
        }

        return count;
    }

    private ReadOnlyMemory<byte> SliceBinary(long size, TensorDataType dataType, long count, long[] shape)
    {
        var field = $"parameters.{ProtocolParameters.BinaryDataSize}";
        if (_headerLength is null)
        {
            throw Error($"binary data needs the {ProtocolParameters.HeaderContentLength} header, and the request has none", field);
        }

        if (dataType != TensorDataType.Bytes && size != count * dataType.ElementSize)
        {
            throw Error(
                $"{Invariant(size)} bytes does not match shape {TensorShape.Format(shape)} of {dataType.ProtocolName} ({Invariant(count * dataType.ElementSize)} bytes)",
                field);
        }

        var left = _body.Length - _binaryOffset;
        if (size > left)
        {
            throw Error($"{Invariant(size)} bytes run past the end of the body ({Invariant(left)} bytes of binary data left)", field);
        }

        var data = _body.Slice(_binaryOffset, (int)size);
        _binaryOffset += (int)size;

        if (dataType == TensorDataType.Bytes)
        {
            if (!BytesLayout.TryCount(data.Span, out var elements, out var failedAt))
            {
                throw Error(
                    $"BYTES element {Invariant(elements)} at byte {Invariant(failedAt)} of the tensor's binary data has a length prefix that runs past its {Invariant(size)} bytes",
                    "data");
            }

            if (elements != count)
            {
                throw Error($"expected {Invariant(count)} elements for shape {TensorShape.Format(shape)}, got {Invariant(elements)} in the binary data", "data");
            }
        }
        else if (dataType == TensorDataType.Bool)
        {
            var bad = data.Span.IndexOfAnyExcept((byte)0, (byte)1);
            if (bad >= 0)
            {
                throw Error($"BOOL element {Invariant(bad)} of the binary data is {Invariant(data.Span[bad])}; expected 0 or 1", "data");
            }
        }

        return data;
    }

    private void CheckBinaryConsumed()
    {
        if (_headerLength is { } headerLength && _binaryOffset != _body.Length)
        {
            throw new InferenceProtocolException(
                $"{ProtocolParameters.HeaderContentLength}: {Invariant(_body.Length - headerLength)} bytes follow the JSON header, but the tensors' {ProtocolParameters.BinaryDataSize} add up to {Invariant(_binaryOffset - headerLength)}");
        }
    }

    private ReadOnlyMemory<byte> ReadJsonData(ref Utf8JsonReader reader, TensorDataType dataType, long count, long[] shape) =>
        dataType switch
        {
            TensorDataType.Bool => ReadFixed<BoolElement>(ref reader, dataType, count, shape),
            TensorDataType.UInt8 => ReadFixed<UInt8Element>(ref reader, dataType, count, shape),
            TensorDataType.UInt16 => ReadFixed<UInt16Element>(ref reader, dataType, count, shape),
            TensorDataType.UInt32 => ReadFixed<UInt32Element>(ref reader, dataType, count, shape),
            TensorDataType.UInt64 => ReadFixed<UInt64Element>(ref reader, dataType, count, shape),
            TensorDataType.Int8 => ReadFixed<Int8Element>(ref reader, dataType, count, shape),
            TensorDataType.Int16 => ReadFixed<Int16Element>(ref reader, dataType, count, shape),
            TensorDataType.Int32 => ReadFixed<Int32Element>(ref reader, dataType, count, shape),
            TensorDataType.Int64 => ReadFixed<Int64Element>(ref reader, dataType, count, shape),
            TensorDataType.Fp16 => ReadFixed<Fp16Element>(ref reader, dataType, count, shape),
            TensorDataType.Fp32 => ReadFixed<Fp32Element>(ref reader, dataType, count, shape),
            TensorDataType.Fp64 => ReadFixed<Fp64Element>(ref reader, dataType, count, shape),
            _ => ReadBytes(ref reader, count, shape),
        };

    /// <summary>Flattens a (possibly nested) JSON array of a fixed-size datatype; the reader is on its start.</summary>
    private ReadOnlyMemory<byte> ReadFixed<TElement>(ref Utf8JsonReader reader, TensorDataType dataType, long count, long[] shape)
        where TElement : struct, IElementCodec
    {
        var size = TElement.Size;

        // Each element takes at least two bytes of JSON ("1,"), so a shape that promises more than the
        // body can hold gets no more buffer than the body could fill; the count check below fails it.
        var capacity = Math.Min(count, (_jsonLength / 2L) + 1);
        var buffer = capacity == 0 ? Array.Empty<byte>() : Rent((int)(capacity * size));
        var filled = buffer.AsSpan(0, (int)(capacity * size));
        Span<byte> scratch = stackalloc byte[8];

        long elements = 0;
        var offset = 0;
        var depth = 1;
        while (true)
        {
            Advance(ref reader);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    if (++depth > MaxDataDepth)
                    {
                        throw Error($"nested deeper than {Invariant(MaxDataDepth)} arrays");
                    }

                    continue;
                case JsonTokenType.EndArray:
                    if (--depth == 0)
                    {
                        break;
                    }

                    continue;
                default:
                    // Past the expected count, elements are still checked and counted for the message, not kept.
                    var destination = elements < capacity ? filled.Slice(offset, size) : scratch[..size];
                    var status = TElement.Read(ref reader, destination);
                    if (status != ElementStatus.Ok)
                    {
                        throw ElementError(ref reader, status, elements, dataType);
                    }

                    elements++;
                    offset += elements <= capacity ? size : 0;
                    continue;
            }

            break;
        }

        if (elements != count)
        {
            throw CountMismatch(count, elements, shape);
        }

        return buffer.AsMemory(0, (int)(count * size));
    }

    /// <summary>Flattens a JSON array of strings into the BYTES layout; the reader is on its start.</summary>
    private ReadOnlyMemory<byte> ReadBytes(ref Utf8JsonReader reader, long count, long[] shape)
    {
        // A guess, bounded by what the JSON could hold, that grows like a list when it falls short.
        var initial = Math.Clamp(Math.Min(count * 16L, _jsonLength * 2L), 16L, Array.MaxLength);
        var buffer = count == 0 ? Array.Empty<byte>() : Rent((int)initial);
        var used = 0;
        long elements = 0;
        var depth = 1;
        while (true)
        {
            Advance(ref reader);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    if (++depth > MaxDataDepth)
                    {
                        throw Error($"nested deeper than {Invariant(MaxDataDepth)} arrays");
                    }

                    continue;
                case JsonTokenType.EndArray:
                    if (--depth == 0)
                    {
                        break;
                    }

                    continue;
                case JsonTokenType.String:
                    if (elements < count)
                    {
                        // Unescaping never makes a string longer, so its raw length bounds the copy.
                        var needed = used + (long)BytesLayout.PrefixSize + reader.ValueSpan.Length;
                        if (needed > Array.MaxLength)
                        {
                            throw Error($"the BYTES elements take more than {Invariant(Array.MaxLength)} bytes");
                        }

                        if (needed > buffer.Length)
                        {
                            var grown = Math.Min(Math.Max(needed, buffer.Length * 2L), Array.MaxLength);
                            buffer = _buffers!.Grow(buffer, used, (int)grown);
                        }

                        int length;
                        try
                        {
                            length = reader.CopyString(buffer.AsSpan(used + BytesLayout.PrefixSize));
                        }
                        catch (InvalidOperationException)
                        {
                            throw Error($"element {Invariant(elements)} is {NotText}");
                        }

                        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(used, BytesLayout.PrefixSize), (uint)length);
                        used += BytesLayout.PrefixSize + length;
                    }

                    elements++;
                    continue;
                default:
                    throw ElementError(ref reader, ElementStatus.WrongKind, elements, TensorDataType.Bytes);
            }

            break;
        }

        if (elements != count)
        {
            throw CountMismatch(count, elements, shape);
        }

        return buffer.AsMemory(0, used);
    }

    private byte[] Rent(int length)
    {
        _buffers ??= new PooledBuffers(_pool);
        return _buffers.Rent(length);
    }

    private InferenceProtocolException CountMismatch(long expected, long actual, long[] shape) =>
        Error($"expected {Invariant(expected)} elements for shape {TensorShape.Format(shape)}, got {Invariant(actual)}");

    private InferenceProtocolException ElementError(ref Utf8JsonReader reader, ElementStatus status, long index, TensorDataType dataType)
    {
        var value = Describe(ref reader);
        var name = dataType.ProtocolName;
        var message = status switch
        {
            ElementStatus.NotInteger => $"element {Invariant(index)} is {value}, not an integer as {name} needs",
            ElementStatus.OutOfRange => $"element {Invariant(index)} is {value}, out of range for {name}",
            _ => $"element {Invariant(index)} is {value}; {name} elements are {ExpectedKind(dataType)}",
        };
        return Error(message);
    }

    private static string ExpectedKind(TensorDataType dataType) => dataType switch
    {
        TensorDataType.Bool => "true or false",
        TensorDataType.Bytes => "strings",
        TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64 => "numbers, or the strings \"NaN\", \"Infinity\" and \"-Infinity\"",
        _ => "integers",
    };

    /// <summary>The current token as a message shows it, cut short; never throws, whatever the bytes.</summary>
    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => Quote(reader.ValueSpan),
        JsonTokenType.String => "'" + Quote(reader.ValueSpan) + "'",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => "not a value",
    };

    // Decodes only the start, so a huge token costs no more than a short one; a cut character becomes U+FFFD.
    private static string Quote(ReadOnlySpan<byte> utf8)
    {
        const int MaxBytes = MaxQuotedLength * 4;
        return Truncate(Encoding.UTF8.GetString(utf8.Length <= MaxBytes ? utf8 : utf8[..MaxBytes]));
    }

    private static string Truncate(string text) =>
        text.Length <= MaxQuotedLength ? text : string.Concat(text.AsSpan(0, MaxQuotedLength), "...");

    private InferenceProtocolException InvalidJson(JsonException exception)
    {
        var line = (exception.LineNumber ?? 0) + 1;
        var position = (exception.BytePositionInLine ?? 0) + 1;

        // The reader's own words say what is wrong; its position suffix is replaced by a readable one.
        var reason = exception.Message;
        var suffix = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (suffix >= 0)
        {
            reason = reason[..suffix];
        }

        return Error($"invalid JSON at line {Invariant(line)}, byte {Invariant(position)}: {reason}");
    }

    private void At(string section, int index = -1)
    {
        _section = section;
        _index = index;
        _field = null;
    }

    private InferenceProtocolException Error(string problem, string? field = null)
    {
        field ??= _field;
        var where = _index >= 0 ? $"{_section}[{Invariant(_index)}]" : _section;
        return new InferenceProtocolException(field is null ? $"{where}: {problem}" : $"{where}.{field}: {problem}");
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
