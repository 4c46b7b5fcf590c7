using System.Buffers.Binary;
using System.IO.Compression;
using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>Images as clients send them, made with Skia so every test image is generated, not committed.</summary>
internal static class TestImages
{
    /// <summary>
    /// A 4000x3000 JPEG as a phone takes it: grey-ish paper lit unevenly, with grain, and a digit
    /// written thick in dark ink, well away from the centre.
    /// </summary>
    public static byte[] PhotoOfDigit(HoldOutDigit digit, int width = 4000, int height = 3000)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(206, 200, 186));

            // The ink: the digit with its strokes thickened, enlarged to about 40 % of the photo's height.
            using var ink = Thicken(digit);
            using var inkImage = SKImage.FromBitmap(ink);
            var side = height * 0.45f;
            var destination = SKRect.Create(width * 0.58f, height * 0.12f, side, side);
            using (var inkPaint = new SKPaint { Color = new SKColor(38, 36, 48) })
            {
                canvas.DrawImage(inkImage, destination, new SKSamplingOptions(SKCubicResampler.Mitchell), inkPaint);
            }

            // Uneven light: bright at the top left, dim at the bottom right, with a soft window highlight.
            using (var shade = new SKPaint())
            {
                shade.Shader = SKShader.CreateLinearGradient(
                    new SKPoint(0, 0), new SKPoint(width, height), [new SKColor(0, 0, 0, 0), new SKColor(0, 0, 0, 120)], SKShaderTileMode.Clamp);
                canvas.DrawRect(0, 0, width, height, shade);
            }

            using (var light = new SKPaint())
            {
                light.Shader = SKShader.CreateRadialGradient(
                    new SKPoint(width * 0.2f, height * 0.3f), width * 0.4f, [new SKColor(255, 250, 235, 70), new SKColor(255, 250, 235, 0)], SKShaderTileMode.Clamp);
                canvas.DrawRect(0, 0, width, height, light);
            }

            // Grain: a tile of seeded noise, repeated.
            using var grain = Noise(256, seed: 1729);
            using var grainImage = SKImage.FromBitmap(grain);
            using var grainPaint = new SKPaint { Shader = grainImage.ToShader(SKShaderTileMode.Repeat, SKShaderTileMode.Repeat) };
            canvas.DrawRect(0, 0, width, height, grainPaint);
        }

        return Encode(bitmap, SKEncodedImageFormat.Jpeg, 88);
    }

    /// <summary>An RGB image of one colour, or with <paramref name="right"/> on its right half.</summary>
    public static byte[] Solid(int width, int height, SKColor color, SKColor? right = null, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(color);
            if (right is { } other)
            {
                using var paint = new SKPaint { Color = other };
                canvas.DrawRect(width / 2, 0, width - (width / 2), height, paint);
            }
        }

        return Encode(bitmap, format);
    }

    /// <summary>An image of four colours, one per quadrant: top left, top right, bottom left, bottom right.</summary>
    public static byte[] Quadrants(int width, int height, SKColor topLeft, SKColor topRight, SKColor bottomLeft, SKColor bottomRight, SKEncodedImageFormat format, int quality = 95)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            var (halfWidth, halfHeight) = (width / 2, height / 2);
            foreach (var (color, x, y) in new[] { (topLeft, 0, 0), (topRight, halfWidth, 0), (bottomLeft, 0, halfHeight), (bottomRight, halfWidth, halfHeight) })
            {
                using var paint = new SKPaint { Color = color };
                canvas.DrawRect(x, y, x == 0 ? halfWidth : width - halfWidth, y == 0 ? halfHeight : height - halfHeight, paint);
            }
        }

        return Encode(bitmap, format, quality);
    }

    /// <summary>A lossless PNG whose every level says where it is: see <see cref="PositionLevel"/>.</summary>
    public static byte[] PositionCoded(int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = bitmap.GetPixelSpan();
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var pixel = pixels.Slice(((y * width) + x) * 4, 4);
                for (var c = 0; c < 3; c++)
                {
                    pixel[c] = PositionLevel(x, y, c);
                }

                pixel[3] = byte.MaxValue;
            }
        }

        return Encode(bitmap, SKEncodedImageFormat.Png);
    }

    /// <summary>
    /// The level of channel <paramref name="channel"/> (0 red, 1 green, 2 blue) at (x, y) in <see cref="PositionCoded"/>:
    /// red is x, green is y, blue mixes both, so in an image under 256 pixels a side a wrong row, column or channel shows.
    /// </summary>
    public static byte PositionLevel(int x, int y, int channel) => channel switch
    {
        0 => (byte)x,
        1 => (byte)y,
        _ => (byte)(((3 * x) + (5 * y) + 17) % 256),
    };

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 100)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality) ?? throw new InvalidOperationException($"Skia cannot encode {format} here");
        return data.ToArray();
    }

    /// <summary>A bitmap BMP (24-bit, bottom-up), written by hand because Skia has no BMP encoder.</summary>
    public static byte[] Bmp(HoldOutDigit digit, int scale = 4)
    {
        var side = 28 * scale;
        var rowBytes = ((side * 3) + 3) & ~3;
        var bytes = new byte[54 + (rowBytes * side)];
        "BM"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), side);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), side);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 24);
        for (var y = 0; y < side; y++)
        {
            var row = bytes.AsSpan(54 + ((side - 1 - y) * rowBytes));
            for (var x = 0; x < side; x++)
            {
                var level = (byte)Math.Round(255 * (1 - digit.Pixels[((y / scale) * 28) + (x / scale)]));
                row[(x * 3)..((x * 3) + 3)].Fill(level);
            }
        }

        return bytes;
    }


    /// <summary>A JPEG with an EXIF orientation tag (1..8) inserted after its start marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        // APP1 "Exif\0\0", then a big-endian TIFF header and one IFD entry: tag 0x0112, SHORT, count 1.
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,
            0x00, 0x01,
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, (byte)(orientation >> 8), (byte)orientation, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ];
        var segmentLength = 2 + 6 + tiff.Length;
        var result = new List<byte>(jpeg.Length + segmentLength + 2) { 0xFF, 0xD8, 0xFF, 0xE1, (byte)(segmentLength >> 8), (byte)segmentLength };
        result.AddRange("Exif\0\0"u8.ToArray());
        result.AddRange(tiff);
        result.AddRange(jpeg.AsSpan(2).ToArray());
        return [.. result];
    }

    private static SKBitmap Thicken(HoldOutDigit digit)
    {
        // A 3x3 maximum: every stroke one pixel wider on each side, as a felt pen writes.
        var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Alpha8, SKAlphaType.Premul));
        var pixels = bitmap.GetPixelSpan();
        for (var y = 0; y < 28; y++)
        {
            for (var x = 0; x < 28; x++)
            {
                var level = 0f;
                for (var dy = -1; dy <= 1; dy++)
                {
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        var (sx, sy) = (x + dx, y + dy);
                        if (sx is >= 0 and < 28 && sy is >= 0 and < 28)
                        {
                            level = Math.Max(level, digit.Pixels[(sy * 28) + sx]);
                        }
                    }
                }

                pixels[(y * 28) + x] = (byte)Math.Round(255 * level);
            }
        }

        return bitmap;
    }

    private static SKBitmap Noise(int side, int seed)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < pixels.Length; i += 4)
        {
            var dark = random.Next(2) == 0;
            pixels[i] = pixels[i + 1] = pixels[i + 2] = dark ? (byte)0 : (byte)255;
            pixels[i + 3] = (byte)random.Next(0, 24);
        }

        return bitmap;
    }
}
