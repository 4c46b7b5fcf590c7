using System.Buffers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Otlp;

/// <summary>
/// OTLP/JSON is the protobuf JSON mapping with two differences: trace and span ids are hex, not
/// base64, and unknown fields must be ignored. The ids are rewritten to base64 here, by position
/// in the original bytes, and the result goes to Google.Protobuf's JSON parser.
/// </summary>
internal static class OtlpJson
{
    // The protobuf JSON parser's own recursion limit.
    private const int MaxDepth = 100;

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>Parses an OTLP/JSON body; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> utf8)
        where T : IMessage<T>, new()
    {
        string text;
        try
        {
            text = RewriteIds(utf8);
        }
        catch (JsonException exception)
        {
            throw new FormatException($"The body is not valid JSON: {exception.Message}", exception);
        }

        try
        {
            return Parser.Parse<T>(text);
        }
        catch (InvalidProtocolBufferException exception)
        {
            throw new FormatException($"The body is not a valid OTLP/JSON {typeof(T).Name}: {exception.Message}", exception);
        }
        catch (InvalidJsonException exception)
        {
            throw new FormatException($"The body is not a valid OTLP/JSON {typeof(T).Name}: {exception.Message}", exception);
        }
    }

    private static bool IsIdField(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("traceId"u8) || reader.ValueTextEquals("spanId"u8) || reader.ValueTextEquals("parentSpanId"u8)
        || reader.ValueTextEquals("trace_id"u8) || reader.ValueTextEquals("span_id"u8) || reader.ValueTextEquals("parent_span_id"u8);

    /// <summary>The same JSON with every id field's hex string replaced by base64; validates the JSON on the way.</summary>
    internal static string RewriteIds(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
        var output = new ArrayBufferWriter<byte>(utf8.Length);
        var copied = 0;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || !IsIdField(ref reader))
            {
                continue;
            }

            var field = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                continue;
            }

            var hex = reader.GetString()!;
            if (hex.Length == 0)
            {
                continue;
            }

            if (hex.Length % 2 != 0 || !TraceKey.IsHex(hex))
            {
                throw new FormatException($"Field '{field}' is \"{OtlpValues.Truncate(hex, 64)}\"; OTLP/JSON ids are hex strings (32 digits for a trace id, 16 for a span id).");
            }

            var start = (int)reader.TokenStartIndex;
            output.Write(utf8[copied..start]);
            output.Write(Encoding.UTF8.GetBytes($"\"{Convert.ToBase64String(Convert.FromHexString(hex))}\""));
            copied = (int)reader.BytesConsumed;
        }

        output.Write(utf8[copied..]);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
