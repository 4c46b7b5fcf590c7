using SkiaSharp;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// Turns an image the way its EXIF orientation says it is meant to be seen: phones store photos
/// as the sensor saw them and record the rotation separately, and a digit on its side reads wrong.
/// </summary>
internal static class Orientation
{
    /// <summary>Whether an image stored with this origin is turned or mirrored to be seen upright.</summary>
    public static bool Turns(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.TopRight or SKEncodedOrigin.BottomRight or SKEncodedOrigin.BottomLeft
            or SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>Returns the image upright; the argument is disposed when a new image replaces it.</summary>
    public static FloatImage Apply(FloatImage image, SKEncodedOrigin origin)
    {
        if (!Turns(origin))
        {
            return image;
        }

        var w = image.Width;
        var h = image.Height;
        var swaps = origin >= SKEncodedOrigin.LeftTop;
        var channels = image.Channels;
        var result = FloatImage.Create(swaps ? h : w, swaps ? w : h, channels);
        var source = image.Pixels;
        var target = result.Pixels;
        for (var y = 0; y < result.Height; y++)
        {
            for (var x = 0; x < result.Width; x++)
            {
                // (x, y) is where the viewer sees the pixel; (sx, sy) is where the file stores it (EXIF 2.3, tag 0x0112).
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x),
                };
                source.Slice(((sy * w) + sx) * channels, channels).CopyTo(target.Slice(((y * result.Width) + x) * channels, channels));
            }
        }

        image.Dispose();
        return result;
    }
}
