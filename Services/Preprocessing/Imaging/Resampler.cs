using System.Buffers;
using System.Numerics.Tensors;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// Separable resampling of a <see cref="FloatImage"/>: area averaging when shrinking, so every source
/// pixel counts once and thin strokes do not vanish; bilinear interpolation when enlarging.
/// </summary>
internal static class Resampler
{
    public static FloatImage Resize(FloatImage source, int width, int height) =>
        ResizeRegion(source, width, height, 0, 0, width, height);

    /// <summary>
    /// The <paramref name="regionWidth"/> × <paramref name="regionHeight"/> region at (<paramref name="left"/>, <paramref name="top"/>)
    /// of <paramref name="source"/> resized to <paramref name="width"/> × <paramref name="height"/>, which must lie inside it.
    /// </summary>
    /// <remarks>
    /// Only the region's pixels are computed, from only the source rows they cover, each exactly as a whole resize computes
    /// it: a resize followed by a crop does the work once, and a crop of an image far longer than wide never exists whole.
    /// </remarks>
    public static FloatImage ResizeRegion(FloatImage source, int width, int height, int left, int top, int regionWidth, int regionHeight) =>
        ResizeRegion(new ImageRows(source), width, height, left, top, regionWidth, regionHeight);

    /// <summary>
    /// <see cref="ResizeRegion(FloatImage, int, int, int, int, int, int)"/> from rows made as they are read, so that a
    /// decoder's rows are resampled without a whole image of floats ever being written and read back.
    /// </summary>
    public static FloatImage ResizeRegion<TRows>(TRows source, int width, int height, int left, int top, int regionWidth, int regionHeight)
        where TRows : IRowSource, allows ref struct
    {
        var channels = source.Channels;
        var scratch = ArrayPool<float>.Shared.Rent(Math.Max(1, source.Width * channels));
        try
        {
            if (width == source.Width && height == source.Height)
            {
                var copy = FloatImage.Create(regionWidth, regionHeight, channels);
                for (var y = 0; y < regionHeight; y++)
                {
                    source.Row(top + y, scratch).Slice(left * channels, regionWidth * channels).CopyTo(copy.Row(y));
                }

                return copy;
            }

            using var columns = Weights.Create(source.Width, width, left, regionWidth);
            using var rows = Weights.Create(source.Height, height, top, regionHeight);
            var firstRow = rows.Start[0];
            var endRow = firstRow;
            for (var y = 0; y < regionHeight; y++)
            {
                endRow = Math.Max(endRow, rows.Start[y] + rows.For(y).Length);
            }

            var across = FloatImage.Create(regionWidth, endRow - firstRow, channels);
            try
            {
                for (var y = firstRow; y < endRow; y++)
                {
                    ResampleRow(source.Row(y, scratch), across.Row(y - firstRow), columns, channels);
                }

                var result = FloatImage.Create(regionWidth, regionHeight, channels);
                for (var y = 0; y < regionHeight; y++)
                {
                    var target = result.Row(y);
                    target.Clear();
                    var start = rows.Start[y] - firstRow;
                    var weights = rows.For(y);
                    for (var k = 0; k < weights.Length; k++)
                    {
                        AddScaled(across.Row(start + k), weights[k], target);
                    }
                }

                return result;
            }
            finally
            {
                across.Dispose();
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>Resamples one row of interleaved levels along x.</summary>
    public static void ResampleRow(ReadOnlySpan<float> source, Span<float> target, Weights columns, int channels)
    {
        if (channels == 1)
        {
            columns.ResampleGrey(source, target);
            return;
        }

        if (channels == 3)
        {
            columns.ResampleRgb(source, target);
            return;
        }

        for (var x = 0; x < columns.Length; x++)
        {
            var start = columns.Start[x] * channels;
            var weights = columns.For(x);
            for (var c = 0; c < channels; c++)
            {
                var sum = 0f;
                for (var k = 0; k < weights.Length; k++)
                {
                    sum += source[start + (k * channels) + c] * weights[k];
                }

                target[(x * channels) + c] = sum;
            }
        }
    }

    /// <summary><c>target += source * weight</c>, element by element, each product rounded before the add (not fused).</summary>
    public static void AddScaled(ReadOnlySpan<float> source, float weight, Span<float> target) =>
        TensorPrimitives.MultiplyAdd(source[..target.Length], weight, target, target);

    /// <summary>An image's rows of interleaved levels, one at a time.</summary>
    internal interface IRowSource
    {
        int Width { get; }

        int Height { get; }

        int Channels { get; }

        /// <summary>Row <paramref name="y"/>, in <paramref name="scratch"/> (at least <see cref="Width"/> × <see cref="Channels"/> long) or wherever it already is.</summary>
        ReadOnlySpan<float> Row(int y, Span<float> scratch);
    }

    private readonly struct ImageRows(FloatImage image) : IRowSource
    {
        public int Width => image.Width;

        public int Height => image.Height;

        public int Channels => image.Channels;

        public ReadOnlySpan<float> Row(int y, Span<float> scratch) => image.Row(y);
    }

    /// <summary>For each output index, the first source index and the weights of the source indices from there.</summary>
    internal sealed class Weights : IDisposable
    {
        private readonly int[] _start;
        private readonly int[] _count;
        private readonly float[] _weights;
        private readonly int _maxCount;

        private Weights(int length, int maxCount)
        {
            Length = length;
            _maxCount = maxCount;
            _start = ArrayPool<int>.Shared.Rent(length);
            _count = ArrayPool<int>.Shared.Rent(length);
            _weights = ArrayPool<float>.Shared.Rent(length * maxCount);
        }

        public int Length { get; }

        public ReadOnlySpan<int> Start => _start.AsSpan(0, Length);

        public ReadOnlySpan<float> For(int output) => _weights.AsSpan(output * _maxCount, _count[output]);

        /// <summary>
        /// <see cref="ResampleRow"/> for one channel, the most common case: the same sums in the same order,
        /// reading the tables directly instead of through a span per output.
        /// </summary>
        /// <remarks>
        /// By hand rather than a <c>TensorPrimitives.Dot</c> per output: on the two or three weights of a window when
        /// decoding, the calls took two to three times as long (<c>./bench/run.sh image-kernels</c>), and Dot adds in
        /// another order, which changes the levels' last bits.
        /// </remarks>
        public void ResampleGrey(ReadOnlySpan<float> source, Span<float> target)
        {
            var (starts, counts, weights, maxCount) = (_start, _count, _weights, _maxCount);
            target = target[..Length];
            for (var x = 0; x < target.Length; x++)
            {
                var window = source.Slice(starts[x], counts[x]);
                var offset = x * maxCount;
                var sum = 0f;
                for (var k = 0; k < window.Length; k++)
                {
                    sum += window[k] * weights[offset + k];
                }

                target[x] = sum;
            }
        }

        /// <summary>
        /// <see cref="ResampleRow"/> for three interleaved channels, as an RGB image's every row is: each pixel's
        /// window read once for all three sums, each sum added in the same order as the general loop adds it.
        /// </summary>
        public void ResampleRgb(ReadOnlySpan<float> source, Span<float> target)
        {
            var (starts, counts, weights, maxCount) = (_start, _count, _weights, _maxCount);
            target = target[..(Length * 3)];
            for (int x = 0, o = 0; o < target.Length; x++, o += 3)
            {
                var window = source.Slice(starts[x] * 3, counts[x] * 3);
                var taps = weights.AsSpan(x * maxCount, counts[x]);
                float red = 0f, green = 0f, blue = 0f;
                for (int k = 0, i = 0; k < taps.Length; k++, i += 3)
                {
                    var weight = taps[k];
                    red += window[i] * weight;
                    green += window[i + 1] * weight;
                    blue += window[i + 2] * weight;
                }

                target[o] = red;
                target[o + 1] = green;
                target[o + 2] = blue;
            }
        }

        public static Weights Create(int sourceLength, int targetLength) => Create(sourceLength, targetLength, 0, targetLength);

        /// <summary>The weights of outputs <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 only, as entries 0 to <paramref name="count"/> - 1.</summary>
        public static Weights Create(int sourceLength, int targetLength, int first, int count)
        {
            var scale = (double)sourceLength / targetLength;
            if (scale >= 1)
            {
                // Area: output o covers source [o * scale, (o + 1) * scale).
                var table = new Weights(count, (int)Math.Ceiling(scale) + 1);
                for (var i = 0; i < count; i++)
                {
                    var low = (first + i) * scale;
                    var high = Math.Min(low + scale, sourceLength);
                    var firstSource = (int)Math.Floor(low);
                    var last = Math.Min(sourceLength, (int)Math.Ceiling(high));
                    var weights = table._weights.AsSpan(i * table._maxCount, table._maxCount);
                    var used = 0;
                    for (var j = firstSource; j < last; j++)
                    {
                        weights[used++] = (float)((Math.Min(j + 1, high) - Math.Max(j, low)) / scale);
                    }

                    table._start[i] = firstSource;
                    table._count[i] = used;
                }

                return table;
            }

            // Bilinear between the two nearest source centres, pixel centres aligned.
            var bilinear = new Weights(count, 2);
            for (var i = 0; i < count; i++)
            {
                var centre = ((first + i + 0.5) * scale) - 0.5;
                var nearest = (int)Math.Floor(centre);
                var fraction = (float)(centre - nearest);
                if (nearest < 0)
                {
                    (nearest, fraction) = (0, 0);
                }
                else if (nearest >= sourceLength - 1)
                {
                    (nearest, fraction) = (sourceLength - 1, 0);
                }

                var weights = bilinear._weights.AsSpan(i * 2, 2);
                weights[0] = 1 - fraction;
                weights[1] = fraction;
                bilinear._start[i] = nearest;
                bilinear._count[i] = fraction > 0 ? 2 : 1;
            }

            return bilinear;
        }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(_start);
            ArrayPool<int>.Shared.Return(_count);
            ArrayPool<float>.Shared.Return(_weights);
        }
    }
}
