namespace MlPlatform.MnistTrainer;

/// <summary>Pixel mean and standard deviation of the training digits; the exported graph applies the same (x - mean) / std.</summary>
internal sealed record Normalization(float Mean, float Std)
{
    public static Normalization FromTraining(IReadOnlyList<Sample> train)
    {
        // Double accumulation in a fixed order, so the constants baked into the model are reproducible.
        double sum = 0, sumSquares = 0;
        long count = 0;
        foreach (var sample in train)
        {
            foreach (var value in sample.Pixels)
            {
                sum += value;
                sumSquares += (double)value * value;
            }

            count += sample.Pixels.Length;
        }

        var mean = sum / count;
        var std = Math.Sqrt((sumSquares / count) - (mean * mean));
        return new Normalization((float)mean, (float)std);
    }

    public float Apply(float pixel) => (pixel - Mean) / Std;

    /// <summary>
    /// Writes the normalised image rotated by <paramref name="radians"/> and scaled by <paramref name="scale"/> about the
    /// centre, then shifted by (dx, dy) pixels, with bilinear sampling; pixels from outside the image are background (0).
    /// </summary>
    public void ApplyTransformed(ReadOnlySpan<float> pixels, float radians, float scale, float dx, float dy, Span<float> destination)
    {
        const int Size = ConvNet.ImageSize;
        const float Centre = (Size - 1) / 2f;
        // Inverse mapping: for each output pixel, where in the source it comes from.
        var cos = MathF.Cos(radians) / scale;
        var sin = MathF.Sin(radians) / scale;
        for (var y = 0; y < Size; y++)
        {
            var oy = y - dy - Centre;
            for (var x = 0; x < Size; x++)
            {
                var ox = x - dx - Centre;
                var sx = (cos * ox) + (sin * oy) + Centre;
                var sy = (-sin * ox) + (cos * oy) + Centre;
                destination[(y * Size) + x] = Apply(Bilinear(pixels, sx, sy));
            }
        }
    }

    private static float Bilinear(ReadOnlySpan<float> pixels, float x, float y)
    {
        const int Size = ConvNet.ImageSize;
        var x0 = (int)MathF.Floor(x);
        var y0 = (int)MathF.Floor(y);
        var fx = x - x0;
        var fy = y - y0;
        return (((1 - fx) * (1 - fy)) * Pixel(pixels, x0, y0)) + ((fx * (1 - fy)) * Pixel(pixels, x0 + 1, y0))
            + (((1 - fx) * fy) * Pixel(pixels, x0, y0 + 1)) + ((fx * fy) * Pixel(pixels, x0 + 1, y0 + 1));

        static float Pixel(ReadOnlySpan<float> pixels, int x, int y) =>
            x is >= 0 and < Size && y is >= 0 and < Size ? pixels[(y * Size) + x] : 0f;
    }

    public void ApplyTo(ReadOnlySpan<float> pixels, Span<float> destination)
    {
        for (var i = 0; i < pixels.Length; i++)
        {
            destination[i] = Apply(pixels[i]);
        }
    }
}
