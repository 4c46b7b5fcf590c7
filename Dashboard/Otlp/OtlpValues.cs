using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Collections;
using MlPlatform.Dashboard.Telemetry;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Resource.V1;

namespace MlPlatform.Dashboard.Otlp;

/// <summary>Turns OTLP's wire values (AnyValue, KeyValue lists, unix nanoseconds, resources) into the stores' values.</summary>
internal static class OtlpValues
{
    public const string ServiceNameKey = "service.name";
    public const string ServiceInstanceIdKey = "service.instance.id";

    /// <summary>What the OpenTelemetry specification names a service that did not say.</summary>
    public const string UnknownService = "unknown_service";

    // Arrays and maps deeper than this are shown as "…": enough for any real attribute, and a
    // bound on the work a hostile export can cause.
    private const int MaxDepth = 8;

    public static readonly KeyValuePair<string, string>[] NoAttributes = [];

    /// <summary>Unix nanoseconds to unix ticks (100 ns), the resolution <see cref="DateTimeOffset"/> keeps.</summary>
    public static long ToUnixTicks(ulong unixNanos) => (long)(unixNanos / 100);

    public static DateTimeOffset ToTimestamp(long unixTicks) =>
        new(DateTimeOffset.UnixEpoch.Ticks + unixTicks, TimeSpan.Zero);

    public static long ToUnixTicks(DateTimeOffset timestamp) => timestamp.UtcTicks - DateTimeOffset.UnixEpoch.Ticks;

    /// <summary><c>service.name</c> and <c>service.instance.id</c>; the instance falls back to the service name.</summary>
    public static (string Service, string Instance) ReadIdentity(Resource? resource)
    {
        string? service = null, instance = null;
        if (resource is not null)
        {
            foreach (var attribute in resource.Attributes)
            {
                if (attribute.Key == ServiceNameKey)
                {
                    service = ScalarText(attribute.Value);
                }
                else if (attribute.Key == ServiceInstanceIdKey)
                {
                    instance = ScalarText(attribute.Value);
                }
            }
        }

        service = string.IsNullOrEmpty(service) ? UnknownService : service;
        return (service, string.IsNullOrEmpty(instance) ? service : instance);
    }

    /// <summary>
    /// The first <see cref="TelemetryLimits.MaxAttributes"/> attributes, keys and values cut to
    /// <see cref="TelemetryLimits.MaxValueLength"/>, shared through <paramref name="pool"/>.
    /// </summary>
    public static KeyValuePair<string, string>[] ReadAttributes(RepeatedField<KeyValue> attributes, StringPool pool, TelemetryLimits limits)
    {
        var count = Math.Min(attributes.Count, limits.MaxAttributes);
        if (count == 0)
        {
            return NoAttributes;
        }

        var result = new KeyValuePair<string, string>[count];
        for (var i = 0; i < count; i++)
        {
            var attribute = attributes[i];
            var key = pool.Intern(Truncate(attribute.Key, limits.MaxValueLength));
            var value = pool.Intern(Format(attribute.Value, limits.MaxValueLength));
            result[i] = new KeyValuePair<string, string>(key, value);
        }

        return result;
    }

    /// <summary>Looks up one attribute's text; null when absent.</summary>
    public static string? Find(KeyValuePair<string, string>[] attributes, string key)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.Key == key)
            {
                return attribute.Value;
            }
        }

        return null;
    }

    /// <summary>A value as text: strings as they are, numbers invariant, bytes base64, arrays and maps as JSON; cut to <paramref name="maxLength"/>.</summary>
    public static string Format(AnyValue? value, int maxLength)
    {
        if (value is null)
        {
            return string.Empty;
        }

        var scalar = ScalarText(value);
        if (scalar is not null)
        {
            return Truncate(scalar, maxLength);
        }

        var builder = new StringBuilder();
        AppendJson(builder, value, 0, maxLength);
        return Truncate(builder.ToString(), maxLength);
    }

    public static string Truncate(string text, int maxLength)
    {
        if (text.Length <= maxLength)
        {
            return text;
        }

        // Never leave half a surrogate pair at the end.
        var length = char.IsHighSurrogate(text[maxLength - 1]) ? maxLength - 1 : maxLength;
        return text[..length];
    }

    private static string? ScalarText(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
        AnyValue.ValueOneofCase.None => string.Empty,
        _ => null,
    };

    private static void AppendJson(StringBuilder builder, AnyValue? value, int depth, int maxLength)
    {
        if (builder.Length > maxLength)
        {
            return;
        }

        switch (value?.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                AppendQuoted(builder, value.StringValue);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                AppendQuoted(builder, Convert.ToBase64String(value.BytesValue.Span));
                break;
            case AnyValue.ValueOneofCase.ArrayValue when depth >= MaxDepth:
            case AnyValue.ValueOneofCase.KvlistValue when depth >= MaxDepth:
                builder.Append('…');
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                builder.Append('[');
                var values = value.ArrayValue.Values;
                for (var i = 0; i < values.Count && builder.Length <= maxLength; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }

                    AppendJson(builder, values[i], depth + 1, maxLength);
                }

                builder.Append(']');
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                builder.Append('{');
                var entries = value.KvlistValue.Values;
                for (var i = 0; i < entries.Count && builder.Length <= maxLength; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }

                    AppendQuoted(builder, entries[i].Key);
                    builder.Append(':');
                    AppendJson(builder, entries[i].Value, depth + 1, maxLength);
                }

                builder.Append('}');
                break;
            case null:
            case AnyValue.ValueOneofCase.None:
                builder.Append("null");
                break;
            default:
                builder.Append(ScalarText(value));
                break;
        }
    }

    private static void AppendQuoted(StringBuilder builder, string text)
    {
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case < ' ':
                    builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        builder.Append('"');
    }

    /// <summary>Lowercase hex of an id, or null when it is empty or all zero (OTLP's "no id").</summary>
    public static string? IdToHex(ByteString id)
    {
        var span = id.Span;
        if (span.IsEmpty || !span.ContainsAnyExcept((byte)0))
        {
            return null;
        }

        return Convert.ToHexStringLower(span);
    }
}
