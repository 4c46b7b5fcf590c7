using System.Buffers;
using System.Numerics.Tensors;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// Separable resampling of a <see cref="FloatImage"/>: area averaging when shrinking, so every source
/// pixel counts once and thin strokes do not vanish; bilinear interpolation when enlarging.
/// </summary>
internal static class Resampler
{
    public static FloatImage Resize(FloatImage source, int width, int height)
    {
        var channels = source.Channels;
        if (width == source.Width && height == source.Height)
        {
            var copy = FloatImage.Create(width, height, channels);
            source.Pixels.CopyTo(copy.Pixels);
            return copy;
        }

        using var columns = Weights.Create(source.Width, width);
        var across = FloatImage.Create(width, source.Height, channels);
        try
        {
            for (var y = 0; y < source.Height; y++)
            {
                ResampleRow(source.Row(y), across.Row(y), columns, channels);
            }

            using var rows = Weights.Create(source.Height, height);
            var result = FloatImage.Create(width, height, channels);
            for (var y = 0; y < height; y++)
            {
                var target = result.Row(y);
                target.Clear();
                var start = rows.Start[y];
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

    /// <summary>Resamples one row of interleaved levels along x.</summary>
    public static void ResampleRow(ReadOnlySpan<float> source, Span<float> target, Weights columns, int channels)
    {
        if (channels == 1)
        {
            columns.ResampleGrey(source, target);
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

        public static Weights Create(int sourceLength, int targetLength)
        {
            var scale = (double)sourceLength / targetLength;
            if (scale >= 1)
            {
                // Area: output i covers source [i * scale, (i + 1) * scale).
                var table = new Weights(targetLength, (int)Math.Ceiling(scale) + 1);
                for (var i = 0; i < targetLength; i++)
                {
                    var low = i * scale;
                    var high = Math.Min(low + scale, sourceLength);
                    var first = (int)Math.Floor(low);
                    var last = Math.Min(sourceLength, (int)Math.Ceiling(high));
                    var weights = table._weights.AsSpan(i * table._maxCount, table._maxCount);
                    var count = 0;
                    for (var j = first; j < last; j++)
                    {
                        weights[count++] = (float)((Math.Min(j + 1, high) - Math.Max(j, low)) / scale);
                    }

                    table._start[i] = first;
                    table._count[i] = count;
                }

                return table;
            }

            // Bilinear between the two nearest source centres, pixel centres aligned.
            var bilinear = new Weights(targetLength, 2);
            for (var i = 0; i < targetLength; i++)
            {
                var centre = ((i + 0.5) * scale) - 0.5;
                var first = (int)Math.Floor(centre);
                var fraction = (float)(centre - first);
                if (first < 0)
                {
                    (first, fraction) = (0, 0);
                }
                else if (first >= sourceLength - 1)
                {
                    (first, fraction) = (sourceLength - 1, 0);
                }

                var weights = bilinear._weights.AsSpan(i * 2, 2);
                weights[0] = 1 - fraction;
                weights[1] = fraction;
                bilinear._start[i] = first;
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
