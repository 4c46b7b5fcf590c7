using System.Buffers;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// An image of float levels 0..255, channels interleaved row by row, in a pooled array. Floats keep
/// the fractions that resampling, background removal and contrast stretching produce.
/// </summary>
internal sealed class FloatImage : IDisposable
{
    private float[]? _pixels;

    private FloatImage(int width, int height, int channels, float[] pixels)
    {
        Width = width;
        Height = height;
        Channels = channels;
        _pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    public int Channels { get; }

    public int Stride => Width * Channels;

    public Span<float> Pixels => (_pixels ?? throw new ObjectDisposedException(nameof(FloatImage))).AsSpan(0, Height * Stride);

    /// <summary>An image whose levels are unset; every caller writes all of them.</summary>
    public static FloatImage Create(int width, int height, int channels)
    {
        var length = checked(width * height * channels);
        return new FloatImage(width, height, channels, ArrayPool<float>.Shared.Rent(Math.Max(length, 1)));
    }

    public static FloatImage Filled(int width, int height, int channels, float level)
    {
        var image = Create(width, height, channels);
        image.Pixels.Fill(level);
        return image;
    }

    public Span<float> Row(int y) => Pixels.Slice(y * Stride, Stride);

    public void Dispose()
    {
        var pixels = Interlocked.Exchange(ref _pixels, null);
        if (pixels is not null)
        {
            ArrayPool<float>.Shared.Return(pixels);
        }
    }
}
