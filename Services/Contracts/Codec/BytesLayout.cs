using System.Buffers.Binary;

namespace MlPlatform.Contracts.Codec;

/// <summary>The raw layout of a BYTES tensor: each element a 4-byte little-endian length, then that many bytes.</summary>
public static class BytesLayout
{
    public const int PrefixSize = 4;

    /// <summary>
    /// Counts the elements. False when a length prefix, or the bytes it announces, run past the end:
    /// <paramref name="failedAt"/> is then the offset of that prefix and <paramref name="count"/> the element's index.
    /// </summary>
    public static bool TryCount(ReadOnlySpan<byte> data, out long count, out int failedAt)
    {
        count = 0;
        var offset = 0;
        while (offset < data.Length)
        {
            var left = data.Length - offset;
            if (left < PrefixSize
                || BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(offset, PrefixSize)) > (uint)(left - PrefixSize))
            {
                failedAt = offset;
                return false;
            }

            offset += PrefixSize + (int)BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(offset, PrefixSize));
            count++;
        }

        failedAt = -1;
        return true;
    }

    /// <summary>The element at <paramref name="offset"/>, and moves the offset past it; the layout must already be valid.</summary>
    public static ReadOnlySpan<byte> Next(ReadOnlySpan<byte> data, ref int offset)
    {
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(offset, PrefixSize));
        var element = data.Slice(offset + PrefixSize, length);
        offset += PrefixSize + length;
        return element;
    }
}
