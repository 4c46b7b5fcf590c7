using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Preprocessing.Config;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// Reads a KServe V1 body, <c>{"instances": [...]}</c>, straight into a <see cref="TensorBatch"/>: each
/// instance is <c>{"b64": "&lt;base64 image&gt;"}</c> (a <c>data:</c> URL works too) or an array of numbers
/// already in the model's input shape without the batch dimension, nested or flat.
/// </summary>
/// <remarks>
/// One forward pass with <see cref="Utf8JsonReader"/>: numbers go from the body to the tensor with no
/// document tree, and base64 decodes in place in one pooled buffer.
/// </remarks>
internal static class InstanceReader
{
    private const int MaxNesting = 8;

    private const string NotText = "not valid text (an unpaired surrogate escape such as \\ud800)";

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 64 };

    /// <exception cref="PreprocessException">The body or an instance cannot be read; the message names which.</exception>
    public static void Read(ReadOnlySpan<byte> json, PreprocessPipeline pipeline, long maxPixels, TensorBatch batch)
    {
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read())
            {
                throw BadRequest("the body holds no JSON value; send {\"instances\": [...]}");
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw BadRequest($"the JSON body is {Describe(reader.TokenType)}, not an object; send {{\"instances\": [...]}}");
            }

            var found = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                CheckPropertyName(ref reader, null);
                if (!reader.ValueTextEquals("instances"u8))
                {
                    // KServe clients may add fields such as signature_name; they do not change the tensor.
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                if (found)
                {
                    throw BadRequest("is given twice", "instances");
                }

                found = true;
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw BadRequest($"is {Describe(reader.TokenType)}; it must be an array of instances", "instances");
                }

                ReadInstances(ref reader, pipeline, maxPixels, batch);
            }

            // Reads past the object, so trailing content is reported as the reader's JSON error.
            reader.Read();
            if (!found)
            {
                throw BadRequest("the JSON body has no \"instances\" array; send {\"instances\": [...]}");
            }
        }
        catch (JsonException exception)
        {
            throw BadRequest($"the body is not valid JSON: {exception.Message}");
        }
    }

    private static void ReadInstances(ref Utf8JsonReader reader, PreprocessPipeline pipeline, long maxPixels, TensorBatch batch)
    {
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index >= pipeline.MaxInstances)
            {
                throw BadRequest(
                    pipeline.MaxInstances == 1
                        ? $"holds more than 1 instance; model '{pipeline.Model}' takes one per request (max_batch_size {pipeline.MaxBatchSize}, layout {pipeline.Layout.Name()})"
                        : $"holds more than {pipeline.MaxInstances} instances; model '{pipeline.Model}' takes at most {pipeline.MaxInstances} per request (max_batch_size)",
                    "instances");
            }

            var field = $"instances[{index}]";
            var slot = batch.Add();
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    ReadImage(ref reader, field, pipeline, maxPixels, slot);
                    break;
                case JsonTokenType.StartArray:
                    ReadNumbers(ref reader, field, pipeline, slot);
                    break;
                default:
                    throw BadRequest($"is {Describe(reader.TokenType)}; an instance is {{\"b64\": \"<base64 image>\"}} or an array of numbers", field);
            }

            index++;
        }

        if (index == 0)
        {
            throw BadRequest("is empty; send at least one instance", "instances");
        }
    }

    private static void ReadImage(ref Utf8JsonReader reader, string field, PreprocessPipeline pipeline, long maxPixels, Span<float> slot)
    {
        var done = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            CheckPropertyName(ref reader, field);
            if (!reader.ValueTextEquals("b64"u8) || done)
            {
                throw BadRequest($"has the field '{reader.GetString()}'; an image instance is {{\"b64\": \"<base64 image>\"}} and nothing else", field);
            }

            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw BadRequest($"is {Describe(reader.TokenType)}; it must be a string of base64", field + ".b64");
            }

            DecodeImage(ref reader, field + ".b64", pipeline, maxPixels, slot);
            done = true;
        }

        if (!done)
        {
            throw BadRequest("has no \"b64\" field; an image instance is {\"b64\": \"<base64 image>\"}", field);
        }
    }

    private static void DecodeImage(ref Utf8JsonReader reader, string field, PreprocessPipeline pipeline, long maxPixels, Span<float> slot)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, reader.ValueSpan.Length));
        try
        {
            int length;
            try
            {
                length = reader.ValueIsEscaped ? reader.CopyString(buffer) : Copy(reader.ValueSpan, buffer);
            }
            catch (InvalidOperationException)
            {
                // CopyString throws on an escape that is no text (a lone surrogate such as "\ud800"): the client's fault.
                throw BadRequest($"is {NotText}; send the image's bytes as base64", field);
            }

            var text = buffer.AsSpan(0, length);
            if (text.StartsWith("data:"u8))
            {
                var comma = text.IndexOf((byte)',');
                if (comma < 0 || !text[..comma].EndsWith(";base64"u8))
                {
                    throw BadRequest("is a data: URL without ';base64,'; send the image's bytes as base64", field);
                }

                text = text[(comma + 1)..];
            }

            if (Base64.DecodeFromUtf8InPlace(text, out var written) != OperationStatus.Done)
            {
                throw BadRequest("is not valid base64; send the image's bytes encoded as standard base64 with padding", field);
            }

            if (written == 0)
            {
                throw BadRequest("is empty; send the image's bytes as base64", field);
            }

            pipeline.Run(text[..written], maxPixels, slot);
        }
        catch (PreprocessException exception) when (exception.Field is null)
        {
            throw exception.InField(field);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// ValueTextEquals and GetString unescape a name and throw InvalidOperationException on an escape that is no text
    /// (a lone surrogate such as "\ud800"), which would be a 500: an escaped name is checked once, before either runs.
    /// </summary>
    private static void CheckPropertyName(ref Utf8JsonReader reader, string? field)
    {
        if (!reader.ValueIsEscaped)
        {
            return;
        }

        try
        {
            _ = reader.GetString();
        }
        catch (InvalidOperationException)
        {
            throw field is null
                ? BadRequest($"the JSON body has a property name that is {NotText}")
                : BadRequest($"has a property name that is {NotText}", field);
        }
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    /// <summary>
    /// Copies numbers in document order into the slot while checking that the nesting is regular:
    /// every array at one depth has the same length, and numbers sit only at the deepest level.
    /// </summary>
    private static void ReadNumbers(ref Utf8JsonReader reader, string field, PreprocessPipeline pipeline, Span<float> slot)
    {
        Span<int> lengths = stackalloc int[MaxNesting];
        Span<int> dimensions = stackalloc int[MaxNesting];
        dimensions.Fill(-1);
        lengths[0] = 0;
        var depth = 1;
        var leafDepth = -1;
        var count = 0;
        var ragged = false;
        while (depth > 0 && reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    if (depth == MaxNesting)
                    {
                        throw BadRequest($"is nested more than {MaxNesting} arrays deep; send {Expected(pipeline)}", field);
                    }

                    lengths[depth - 1]++;
                    lengths[depth] = 0;
                    depth++;
                    break;

                case JsonTokenType.Number:
                    if (leafDepth < 0)
                    {
                        leafDepth = depth;
                    }

                    ragged |= depth != leafDepth;
                    lengths[depth - 1]++;
                    if (!reader.TryGetSingle(out var value) || !float.IsFinite(value))
                    {
                        throw BadRequest($"value {count} does not fit a 32-bit float", field);
                    }

                    if (count < slot.Length)
                    {
                        slot[count] = value;
                    }

                    count++;
                    break;

                case JsonTokenType.EndArray:
                    depth--;
                    if (dimensions[depth] < 0)
                    {
                        dimensions[depth] = lengths[depth];
                    }

                    ragged |= dimensions[depth] != lengths[depth];
                    break;

                default:
                    throw BadRequest($"holds {Describe(reader.TokenType)} where a number belongs; a numeric instance holds numbers only", field);
            }
        }

        var levels = Math.Max(leafDepth, 1);
        var shape = dimensions[..levels];
        var expected = pipeline.InstanceShape;
        var matches = !ragged && leafDepth > 0 && count == pipeline.InstanceLength
            && (levels == 1 || SameShape(shape, expected));
        if (!matches)
        {
            var got = ragged ? "arrays of uneven length" : $"shape [{string.Join(", ", shape.ToArray())}] ({count} numbers)";
            throw BadRequest($"has {got}; send {Expected(pipeline)}", field);
        }
    }

    private static bool SameShape(ReadOnlySpan<int> shape, long[] expected)
    {
        if (shape.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string Expected(PreprocessPipeline pipeline)
    {
        var layout = pipeline.Layout.IsChannelsFirst() ? "CHW" : "HWC";
        return $"an array of shape {TensorShape.Format(pipeline.InstanceShape)} ({layout}) for model '{pipeline.Model}', or its {pipeline.InstanceLength} numbers flat";
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "not a value",
    };

    private static PreprocessException BadRequest(string message, string? field = null) =>
        new(StatusCodes.Status400BadRequest, message, field);
}
