using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace MlPlatform.TestSupport;

/// <summary>Image files as clients send them, generated so no test image is committed.</summary>
public static class DigitImages
{
    /// <summary>A held-out digit as dark ink on white, smoothly enlarged to <paramref name="size"/> pixels square.</summary>
    public static byte[] BlackOnWhite(HoldOutDigit digit, int size = 280, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var small = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = small.GetPixelSpan();
        for (var i = 0; i < digit.Pixels.Length; i++)
        {
            pixels[i] = (byte)Math.Round(255 * (1 - digit.Pixels[i]));
        }

        using var large = small.Resize(new SKImageInfo(size, size, SKColorType.Gray8, SKAlphaType.Opaque), new SKSamplingOptions(SKFilterMode.Linear));
        using var image = SKImage.FromBitmap(large);
        using var data = image.Encode(format, 100);
        return data.ToArray();
    }

    /// <summary>
    /// A valid PNG header declaring <paramref name="width"/> x <paramref name="height"/> grey pixels,
    /// followed by the compressed first row only: tiny on the wire, enormous if decoded.
    /// </summary>
    public static byte[] PngHeader(int width, int height)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        WriteChunk(output, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                zlib.Write(new byte[width + 1]);
            }

            WriteChunk(output, "IDAT", compressed.ToArray());
        }

        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typed = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed, 4);
        output.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        output.Write(crc);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        // PNG's CRC (ISO 3309), bit by bit: a few hundred bytes, so no table is worth it.
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
