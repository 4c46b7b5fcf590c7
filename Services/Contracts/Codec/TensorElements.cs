using System.Buffers.Binary;
using System.Text.Json;

namespace MlPlatform.Contracts.Codec;

/// <summary>What became of one JSON element; the caller turns a failure into a message with context.</summary>
internal enum ElementStatus : byte
{
    Ok,
    WrongKind,
    NotInteger,
    OutOfRange,
}

/// <summary>
/// One fixed-size datatype's JSON form and raw little-endian form. Implemented by structs so each
/// generic loop over elements is compiled once per datatype, with no per-element dispatch.
/// </summary>
internal interface IElementCodec
{
    static abstract int Size { get; }

    /// <summary>Parses the reader's current token into <paramref name="destination"/> (exactly <see cref="Size"/> bytes).</summary>
    static abstract ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination);

    /// <summary>Writes the element in <paramref name="source"/> (exactly <see cref="Size"/> bytes) as a JSON value.</summary>
    static abstract void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source);
}

internal static class ElementJson
{
    public static ElementStatus ReadSigned(ref Utf8JsonReader reader, long min, long max, out long value)
    {
        value = 0;
        if (reader.TokenType != JsonTokenType.Number)
        {
            return ElementStatus.WrongKind;
        }

        if (reader.TryGetInt64(out value))
        {
            return value >= min && value <= max ? ElementStatus.Ok : ElementStatus.OutOfRange;
        }

        return IsIntegerLiteral(reader.ValueSpan) ? ElementStatus.OutOfRange : ElementStatus.NotInteger;
    }

    public static ElementStatus ReadUnsigned(ref Utf8JsonReader reader, ulong max, out ulong value)
    {
        value = 0;
        if (reader.TokenType != JsonTokenType.Number)
        {
            return ElementStatus.WrongKind;
        }

        if (reader.TryGetUInt64(out value))
        {
            return value <= max ? ElementStatus.Ok : ElementStatus.OutOfRange;
        }

        // "-0" is a valid way to write zero; every other negative integer is out of range.
        if (reader.TryGetInt64(out var signed))
        {
            value = 0;
            return signed == 0 ? ElementStatus.Ok : ElementStatus.OutOfRange;
        }

        return IsIntegerLiteral(reader.ValueSpan) ? ElementStatus.OutOfRange : ElementStatus.NotInteger;
    }

    /// <summary>A JSON number, or one of the strings the protocol uses for values JSON cannot write.</summary>
    public static ElementStatus ReadDouble(ref Utf8JsonReader reader, out double value)
    {
        value = 0;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                // The reader rounds numbers beyond the type's range to infinity rather than failing.
                return reader.TryGetDouble(out value) && double.IsFinite(value) ? ElementStatus.Ok : ElementStatus.OutOfRange;
            case JsonTokenType.String:
                return TryReadNonFinite(ref reader, out value) ? ElementStatus.Ok : ElementStatus.WrongKind;
            default:
                return ElementStatus.WrongKind;
        }
    }

    public static ElementStatus ReadSingle(ref Utf8JsonReader reader, out float value)
    {
        value = 0;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return reader.TryGetSingle(out value) && float.IsFinite(value) ? ElementStatus.Ok : ElementStatus.OutOfRange;
            case JsonTokenType.String:
                var ok = TryReadNonFinite(ref reader, out var wide);
                value = (float)wide;
                return ok ? ElementStatus.Ok : ElementStatus.WrongKind;
            default:
                return ElementStatus.WrongKind;
        }
    }

    public static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            WriteNonFinite(writer, double.IsNaN(value), value > 0);
        }
    }

    public static void WriteSingle(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            WriteNonFinite(writer, float.IsNaN(value), value > 0);
        }
    }

    private static void WriteNonFinite(Utf8JsonWriter writer, bool isNaN, bool positive)
    {
        if (isNaN)
        {
            writer.WriteStringValue("NaN"u8);
        }
        else if (positive)
        {
            writer.WriteStringValue("Infinity"u8);
        }
        else
        {
            writer.WriteStringValue("-Infinity"u8);
        }
    }

    private static bool TryReadNonFinite(ref Utf8JsonReader reader, out double value)
    {
        // ValueTextEquals throws InvalidOperationException on an escape that is no text (a lone surrogate such as
        // "\ud800"); such a string spells no number either, so it is the wrong kind of element, not a 500.
        if (reader.ValueIsEscaped && !IsText(ref reader))
        {
            value = 0;
            return false;
        }

        if (reader.ValueTextEquals("NaN"u8))
        {
            value = double.NaN;
            return true;
        }

        if (reader.ValueTextEquals("Infinity"u8))
        {
            value = double.PositiveInfinity;
            return true;
        }

        if (reader.ValueTextEquals("-Infinity"u8))
        {
            value = double.NegativeInfinity;
            return true;
        }

        value = 0;
        return false;
    }

    private static bool IsText(ref Utf8JsonReader reader)
    {
        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    // Only called once TryGetInt64/TryGetUInt64 failed, to tell "too big" from "has a fraction or exponent".
    private static bool IsIntegerLiteral(ReadOnlySpan<byte> number) => number.IndexOfAny(".eE"u8) < 0;
}

internal readonly struct BoolElement : IElementCodec
{
    public static int Size => 1;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.True:
                destination[0] = 1;
                return ElementStatus.Ok;
            case JsonTokenType.False:
                destination[0] = 0;
                return ElementStatus.Ok;
            default:
                return ElementStatus.WrongKind;
        }
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) => writer.WriteBooleanValue(source[0] != 0);
}

internal readonly struct UInt8Element : IElementCodec
{
    public static int Size => 1;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadUnsigned(ref reader, byte.MaxValue, out var value);
        destination[0] = (byte)value;
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) => writer.WriteNumberValue((uint)source[0]);
}

internal readonly struct UInt16Element : IElementCodec
{
    public static int Size => 2;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadUnsigned(ref reader, ushort.MaxValue, out var value);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue((uint)BinaryPrimitives.ReadUInt16LittleEndian(source));
}

internal readonly struct UInt32Element : IElementCodec
{
    public static int Size => 4;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadUnsigned(ref reader, uint.MaxValue, out var value);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(source));
}

internal readonly struct UInt64Element : IElementCodec
{
    public static int Size => 8;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadUnsigned(ref reader, ulong.MaxValue, out var value);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(source));
}

internal readonly struct Int8Element : IElementCodec
{
    public static int Size => 1;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadSigned(ref reader, sbyte.MinValue, sbyte.MaxValue, out var value);
        destination[0] = (byte)(sbyte)value;
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) => writer.WriteNumberValue((int)(sbyte)source[0]);
}

internal readonly struct Int16Element : IElementCodec
{
    public static int Size => 2;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadSigned(ref reader, short.MinValue, short.MaxValue, out var value);
        BinaryPrimitives.WriteInt16LittleEndian(destination, (short)value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue((int)BinaryPrimitives.ReadInt16LittleEndian(source));
}

internal readonly struct Int32Element : IElementCodec
{
    public static int Size => 4;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadSigned(ref reader, int.MinValue, int.MaxValue, out var value);
        BinaryPrimitives.WriteInt32LittleEndian(destination, (int)value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(source));
}

internal readonly struct Int64Element : IElementCodec
{
    public static int Size => 8;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadSigned(ref reader, long.MinValue, long.MaxValue, out var value);
        BinaryPrimitives.WriteInt64LittleEndian(destination, value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(source));
}

internal readonly struct Fp16Element : IElementCodec
{
    public static int Size => 2;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadDouble(ref reader, out var value);
        var half = (Half)value;

        // A finite number past FP16's range (65504) would silently become infinity.
        if (status == ElementStatus.Ok && double.IsFinite(value) && Half.IsInfinity(half))
        {
            status = ElementStatus.OutOfRange;
        }

        BinaryPrimitives.WriteHalfLittleEndian(destination, half);
        return status;
    }

    // JSON has no 16-bit float; every FP16 value is exactly a float, whose shortest form reads back to the same FP16.
    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        ElementJson.WriteSingle(writer, (float)BinaryPrimitives.ReadHalfLittleEndian(source));
}

internal readonly struct Fp32Element : IElementCodec
{
    public static int Size => 4;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadSingle(ref reader, out var value);
        BinaryPrimitives.WriteSingleLittleEndian(destination, value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        ElementJson.WriteSingle(writer, BinaryPrimitives.ReadSingleLittleEndian(source));
}

internal readonly struct Fp64Element : IElementCodec
{
    public static int Size => 8;

    public static ElementStatus Read(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        var status = ElementJson.ReadDouble(ref reader, out var value);
        BinaryPrimitives.WriteDoubleLittleEndian(destination, value);
        return status;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        ElementJson.WriteDouble(writer, BinaryPrimitives.ReadDoubleLittleEndian(source));
}
