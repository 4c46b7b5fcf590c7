using System.Buffers.Binary;
using System.Globalization;

namespace MlPlatform.Dashboard.Telemetry;

/// <summary>A 16-byte trace id as two integers: compact, and a cheap dictionary key.</summary>
internal readonly record struct TraceKey(ulong High, ulong Low)
{
    public const int HexLength = 32;

    public bool IsEmpty => High == 0 && Low == 0;

    /// <summary>Reads an OTLP trace id; false unless it is 16 bytes and not all zero (an invalid id per the spec).</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out TraceKey key)
    {
        key = bytes.Length == 16
            ? new TraceKey(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]))
            : default;
        return !key.IsEmpty;
    }

    /// <summary>Parses 32 hex digits, either case.</summary>
    public static bool TryParse(ReadOnlySpan<char> hex, out TraceKey key)
    {
        key = default;
        if (hex.Length != HexLength || !IsHex(hex))
        {
            return false;
        }

        key = new TraceKey(
            ulong.Parse(hex[..16], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            ulong.Parse(hex[16..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
        return true;
    }

    public string ToHex() => string.Create(HexLength, this, static (span, key) =>
    {
        key.High.TryFormat(span, out _, "x16", CultureInfo.InvariantCulture);
        key.Low.TryFormat(span[16..], out _, "x16", CultureInfo.InvariantCulture);
    });

    public override string ToString() => ToHex();

    /// <summary>Reads an OTLP span id; false unless it is 8 bytes and not all zero.</summary>
    public static bool TryReadSpanId(ReadOnlySpan<byte> bytes, out ulong spanId)
    {
        spanId = bytes.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : 0;
        return spanId != 0;
    }

    public static string SpanIdToHex(ulong spanId) => spanId.ToString("x16", CultureInfo.InvariantCulture);

    public static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
