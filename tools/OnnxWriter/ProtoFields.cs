using Google.Protobuf;

namespace MlPlatform.OnnxWriter;

/// <summary>
/// Protobuf wire-format helpers. Messages are built bottom-up into byte arrays and embedded as
/// length-delimited fields, which keeps the writer free of generated code for onnx.proto.
/// </summary>
internal static class ProtoFields
{
    public static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
        }

        return buffer.ToArray();
    }

    public static void WriteStringField(this CodedOutputStream output, int field, string value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    public static void WriteInt64Field(this CodedOutputStream output, int field, long value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(value);
    }

    public static void WriteInt32Field(this CodedOutputStream output, int field, int value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt32(value);
    }

    public static void WriteFloatField(this CodedOutputStream output, int field, float value)
    {
        output.WriteTag(field, WireFormat.WireType.Fixed32);
        output.WriteFloat(value);
    }

    public static void WriteBytesField(this CodedOutputStream output, int field, byte[] value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
    }

    public static void WriteMessageField(this CodedOutputStream output, int field, byte[] message) =>
        output.WriteBytesField(field, message);

    public static void WritePackedInt64Field(this CodedOutputStream output, int field, long[] values)
    {
        if (values.Length == 0)
        {
            return;
        }

        var length = 0;
        foreach (var value in values)
        {
            length += CodedOutputStream.ComputeInt64Size(value);
        }

        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(length);
        foreach (var value in values)
        {
            output.WriteInt64(value);
        }
    }
}
