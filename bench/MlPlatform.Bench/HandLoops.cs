using System.Numerics;
using System.Runtime.InteropServices;
using MlPlatform.Preprocessing.Imaging;

namespace MlPlatform.Bench;

/// <summary>
/// The hand loops the preprocessing steps had where they now call TensorPrimitives, kept as the reference the
/// image-kernels benchmark measures them against.
/// </summary>
internal static class HandLoops
{
    public static void Invert(Span<float> pixels)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var full = new Vector<float>(255f);
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(pixels);
            for (var v = 0; v < vectors.Length; v++)
            {
                vectors[v] = full - vectors[v];
            }

            i = vectors.Length * Vector<float>.Count;
        }

        for (; i < pixels.Length; i++)
        {
            pixels[i] = 255f - pixels[i];
        }
    }

    public static float Min(ReadOnlySpan<float> levels) => Reduce<Lower>(levels, float.MaxValue);

    public static float Max(ReadOnlySpan<float> levels) => Reduce<Higher>(levels, float.MinValue);

    public static void AddScaled(ReadOnlySpan<float> source, float weight, Span<float> target)
    {
        source = source[..target.Length];
        var i = 0;
        if (Vector.IsHardwareAccelerated && target.Length >= Vector<float>.Count)
        {
            var scale = new Vector<float>(weight);
            var sourceVectors = MemoryMarshal.Cast<float, Vector<float>>(source);
            var targetVectors = MemoryMarshal.Cast<float, Vector<float>>(target);
            for (var v = 0; v < targetVectors.Length; v++)
            {
                targetVectors[v] += sourceVectors[v] * scale;
            }

            i = targetVectors.Length * Vector<float>.Count;
        }

        for (; i < target.Length; i++)
        {
            target[i] += source[i] * weight;
        }
    }

    /// <summary>The centre-of-mass step's sums of a one-channel image, pixel by pixel in double.</summary>
    public static (double Mass, double MomentX, double MomentY) Moments(FloatImage image)
    {
        double mass = 0, momentX = 0, momentY = 0;
        for (var y = 0; y < image.Height; y++)
        {
            var row = image.Row(y);
            for (var x = 0; x < image.Width; x++)
            {
                var m = (double)row[x];
                mass += m;
                momentX += m * (x + 0.5);
                momentY += m * (y + 0.5);
            }
        }

        return (mass, momentX, momentY);
    }

    public static void Normalize(ReadOnlySpan<float> pixels, float gain, float offset, Span<float> destination)
    {
        for (var i = 0; i < pixels.Length; i++)
        {
            destination[i] = (pixels[i] * gain) + offset;
        }
    }

    /// <summary>The minimum or maximum: one vector of running extremes, then its lanes and the tail.</summary>
    private static float Reduce<TPick>(ReadOnlySpan<float> levels, float start)
        where TPick : IPick
    {
        var extreme = start;
        var i = 0;
        if (Vector.IsHardwareAccelerated && levels.Length >= Vector<float>.Count)
        {
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(levels);
            var running = vectors[0];
            for (var v = 1; v < vectors.Length; v++)
            {
                running = TPick.Pick(running, vectors[v]);
            }

            for (var k = 0; k < Vector<float>.Count; k++)
            {
                extreme = TPick.Pick(extreme, running[k]);
            }

            i = vectors.Length * Vector<float>.Count;
        }

        for (; i < levels.Length; i++)
        {
            extreme = TPick.Pick(extreme, levels[i]);
        }

        return extreme;
    }

    private interface IPick
    {
        static abstract Vector<float> Pick(Vector<float> a, Vector<float> b);

        static abstract float Pick(float a, float b);
    }

    private readonly struct Lower : IPick
    {
        public static Vector<float> Pick(Vector<float> a, Vector<float> b) => Vector.Min(a, b);

        public static float Pick(float a, float b) => Math.Min(a, b);
    }

    private readonly struct Higher : IPick
    {
        public static Vector<float> Pick(Vector<float> a, Vector<float> b) => Vector.Max(a, b);

        public static float Pick(float a, float b) => Math.Max(a, b);
    }
}
