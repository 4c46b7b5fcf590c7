using SkiaSharp;

namespace MlPlatform.Bench;

/// <summary>
/// A deterministic stand-in for a camera photo: sky and ground gradients split by a wavy horizon, shaded discs
/// with hard edges, textured ground and fine luminance noise. A flat or purely smooth image would compress to a
/// few KB and decode faster than any photo; this one has the edges and grain that make a JPEG of this size
/// weigh what a real one does.
/// </summary>
internal static class SyntheticPhoto
{
    public static byte[] Jpeg(int width, int height, int quality = 90)
    {
        var random = new Random(640480);
        var discs = new (float X, float Y, float Radius, float Red, float Green, float Blue)[7];
        for (var i = 0; i < discs.Length; i++)
        {
            discs[i] = (
                (float)random.NextDouble() * width,
                (0.3f + (0.6f * (float)random.NextDouble())) * height,
                (0.04f + (0.12f * (float)random.NextDouble())) * height,
                40 + (200 * (float)random.NextDouble()),
                40 + (200 * (float)random.NextDouble()),
                40 + (200 * (float)random.NextDouble()));
        }

        var rgba = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var horizon = (0.55f * height) + (20 * MathF.Sin(x * 0.02f)) + (8 * MathF.Sin((x * 0.07f) + 1));
                float red, green, blue;
                if (y < horizon)
                {
                    var t = y / horizon;
                    (red, green, blue) = (90 + (90 * t), 140 + (75 * t), 235 - (25 * t));
                }
                else
                {
                    var t = (y - horizon) / (height - horizon);
                    var texture = 25 * MathF.Sin(x * 0.15f) * MathF.Sin(y * 0.11f);
                    (red, green, blue) = (80 + (50 * t) + texture, 115 + (20 * t) + texture, 45 + (15 * t) + (0.5f * texture));
                }

                foreach (var disc in discs)
                {
                    var dx = x - disc.X;
                    var dy = y - disc.Y;
                    var distance = MathF.Sqrt((dx * dx) + (dy * dy));
                    if (distance < disc.Radius)
                    {
                        // Lit from the top left, as a sphere would be.
                        var shade = 0.55f + (0.45f * Math.Clamp(1 - ((distance + (0.5f * (dx + dy))) / (1.5f * disc.Radius)), 0, 1));
                        (red, green, blue) = (disc.Red * shade, disc.Green * shade, disc.Blue * shade);
                    }
                }

                var grain = random.Next(-6, 7);
                var pixel = ((y * width) + x) * 4;
                rgba[pixel] = Level(red + grain);
                rgba[pixel + 1] = Level(green + grain);
                rgba[pixel + 2] = Level(blue + grain);
                rgba[pixel + 3] = byte.MaxValue;
            }
        }

        using var image = SKImage.FromPixelCopy(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), rgba);
        using var encoded = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return encoded.ToArray();
    }

    private static byte Level(float value) => (byte)Math.Clamp(MathF.Round(value), 0, 255);
}
