using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using MlPlatform.Preprocessing.Config;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// The image operations the <c>preprocess</c> steps name. Each takes ownership of its argument and
/// returns the result, disposing the argument when the result is a new image. Intensity, where a
/// step needs one, is the mean of the channels.
/// </summary>
internal static class ImageSteps
{
    private const float FullScale = 255f;

    /// <summary>Levels one TensorPrimitives call writes at most: 64 KB, well within the cache.</summary>
    private const int CacheBlock = 16 * 1024;

    public static FloatImage Grayscale(FloatImage image)
    {
        if (image.Channels == 1)
        {
            return image;
        }

        var grey = FloatImage.Create(image.Width, image.Height, 1);
        var source = image.Pixels;
        var target = grey.Pixels;
        for (int i = 0, s = 0; i < target.Length; i++, s += 3)
        {
            // ITU-R BT.601 luma, the weights PIL's "L" mode and most MNIST tooling use.
            target[i] = (0.299f * source[s]) + (0.587f * source[s + 1]) + (0.114f * source[s + 2]);
        }

        image.Dispose();
        return grey;
    }

    public static FloatImage Invert(FloatImage image, bool onlyWhenLight)
    {
        if (onlyWhenLight && MedianIntensity(image) <= FullScale / 2)
        {
            return image;
        }

        // In blocks: past 256 KB TensorPrimitives stores around the cache, which made a whole image take two to three
        // times as long as the hand loop, the next step reading it straight back; a call per row costs more on narrow rows.
        var pixels = image.Pixels;
        for (var start = 0; start < pixels.Length; start += CacheBlock)
        {
            var block = pixels.Slice(start, Math.Min(CacheBlock, pixels.Length - start));
            TensorPrimitives.Subtract(FullScale, block, block);
        }

        return image;
    }

    /// <summary>
    /// Subtracts a smooth estimate of the background: the darkest level of each block, interpolated
    /// bilinearly between block centres. Ink narrower than a block never sets its block's level.
    /// </summary>
    public static FloatImage RemoveBackground(FloatImage image, float block)
    {
        var (w, h, channels) = (image.Width, image.Height, image.Channels);
        var side = Math.Max(1, (int)MathF.Round(block * Math.Min(w, h)));
        var columns = (w + side - 1) / side;
        var rows = (h + side - 1) / side;
        var stride = w * channels;
        var levels = ArrayPool<float>.Shared.Rent(columns * rows * channels);
        var across = ArrayPool<float>.Shared.Rent(rows * stride);
        var left = ArrayPool<int>.Shared.Rent(w);
        var weight = ArrayPool<float>.Shared.Rent(w);
        try
        {
            var grid = levels.AsSpan(0, columns * rows * channels);
            grid.Fill(float.MaxValue);
            for (var y = 0; y < h; y++)
            {
                var row = image.Row(y);
                var cellRow = grid.Slice(y / side * columns * channels, columns * channels);
                if (channels == 1)
                {
                    for (var cell = 0; cell < columns; cell++)
                    {
                        var start = cell * side;
                        cellRow[cell] = Math.Min(cellRow[cell], TensorPrimitives.Min(row.Slice(start, Math.Min(side, w - start))));
                    }

                    continue;
                }

                for (var x = 0; x < w; x++)
                {
                    var cell = x / side * channels;
                    for (var c = 0; c < channels; c++)
                    {
                        cellRow[cell + c] = Math.Min(cellRow[cell + c], row[(x * channels) + c]);
                    }
                }
            }

            for (var x = 0; x < w; x++)
            {
                (left[x], weight[x]) = Between(x, side, columns);
            }

            // Each row of blocks interpolated along x once; every pixel row then blends the two it lies between.
            // The arithmetic is the per-pixel formula's, only hoisted, so the levels are the same.
            for (var r = 0; r < rows; r++)
            {
                var cells = grid.Slice(r * columns * channels, columns * channels);
                var interpolated = across.AsSpan(r * stride, stride);
                for (var x = 0; x < w; x++)
                {
                    var a = left[x] * channels;
                    var b = Math.Min(left[x] + 1, columns - 1) * channels;
                    var t = weight[x];
                    for (var c = 0; c < channels; c++)
                    {
                        interpolated[(x * channels) + c] = cells[a + c] + ((cells[b + c] - cells[a + c]) * t);
                    }
                }
            }

            for (var y = 0; y < h; y++)
            {
                var (top, down) = Between(y, side, rows);
                var bottom = Math.Min(top + 1, rows - 1);
                SubtractBackground(image.Row(y), across.AsSpan(top * stride, stride), across.AsSpan(bottom * stride, stride), down);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(levels);
            ArrayPool<float>.Shared.Return(across);
            ArrayPool<int>.Shared.Return(left);
            ArrayPool<float>.Shared.Return(weight);
        }

        return image;
    }

    /// <summary><c>row = max(0, row - (upper + (lower - upper) * down))</c>, element by element.</summary>
    /// <remarks>
    /// By hand, in one pass: TensorPrimitives does it in four (subtract, multiply-add, subtract, max) through a
    /// scratch row, which took 1.8 to 2.7 times as long (<c>./bench/run.sh image-kernels</c>).
    /// </remarks>
    internal static void SubtractBackground(Span<float> row, ReadOnlySpan<float> upper, ReadOnlySpan<float> lower, float down)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var rows = MemoryMarshal.Cast<float, Vector<float>>(row);
            var uppers = MemoryMarshal.Cast<float, Vector<float>>(upper);
            var lowers = MemoryMarshal.Cast<float, Vector<float>>(lower);
            var fraction = new Vector<float>(down);
            for (var v = 0; v < rows.Length; v++)
            {
                var background = uppers[v] + ((lowers[v] - uppers[v]) * fraction);
                rows[v] = Vector.Max(Vector<float>.Zero, rows[v] - background);
            }

            i = rows.Length * Vector<float>.Count;
        }

        for (; i < row.Length; i++)
        {
            var background = upper[i] + ((lower[i] - upper[i]) * down);
            row[i] = Math.Max(0, row[i] - background);
        }
    }

    /// <summary>The block whose centre is at or before pixel <paramref name="i"/>, and how far towards the next centre it lies.</summary>
    private static (int Block, float Fraction) Between(int i, int side, int blocks)
    {
        var position = ((i + 0.5f) / side) - 0.5f;
        if (position <= 0)
        {
            return (0, 0);
        }

        var block = (int)position;
        return block >= blocks - 1 ? (blocks - 1, 0) : (block, position - block);
    }

    public static FloatImage Autocontrast(FloatImage image, float cutoff)
    {
        var pixels = image.Pixels;
        var lowest = TensorPrimitives.Min<float>(pixels);
        var highest = TensorPrimitives.Max<float>(pixels);

        var black = lowest + (cutoff * (highest - lowest));
        var range = highest - black;
        if (range < 1e-3f)
        {
            // A flat image has no contrast to stretch; stretching would only amplify rounding.
            return image;
        }

        Stretch(pixels, black, FullScale / range);
        return image;
    }

    /// <summary><c>level = max(0, level - black) * gain</c>, element by element.</summary>
    /// <remarks>
    /// By hand, in one pass: TensorPrimitives does it in three (subtract, max, multiply), which took 1.4 to 1.8 times
    /// as long, and five to seven times past 256 KB, where it stores around the cache (<c>./bench/run.sh image-kernels</c>).
    /// </remarks>
    internal static void Stretch(Span<float> pixels, float black, float gain)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (blacks, gains) = (new Vector<float>(black), new Vector<float>(gain));
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(pixels);
            for (var v = 0; v < vectors.Length; v++)
            {
                vectors[v] = Vector.Max(Vector<float>.Zero, vectors[v] - blacks) * gains;
            }

            i = vectors.Length * Vector<float>.Count;
        }

        for (; i < pixels.Length; i++)
        {
            pixels[i] = Math.Max(0, pixels[i] - black) * gain;
        }
    }

    public static FloatImage CropToInk(FloatImage image, float threshold)
    {
        var level = threshold * FullScale * image.Channels;
        var (minX, minY, maxX, maxY) = (int.MaxValue, int.MaxValue, -1, -1);
        if (image.Channels == 1)
        {
            // One level per pixel: the first and last inked pixel of a row are all a row has to say.
            var above = new Vector<float>(level);
            for (var y = 0; y < image.Height; y++)
            {
                var row = image.Row(y);
                var first = FirstAbove(row, level, above);
                if (first < 0)
                {
                    continue;
                }

                minX = Math.Min(minX, first);
                maxX = Math.Max(maxX, LastAbove(row, level));
                minY = Math.Min(minY, y);
                maxY = y;
            }

            return maxX < 0 ? image : Crop(image, minX, minY, maxX - minX + 1, maxY - minY + 1);
        }

        for (var y = 0; y < image.Height; y++)
        {
            var row = image.Row(y);
            for (var x = 0; x < image.Width; x++)
            {
                if (Sum(row.Slice(x * image.Channels, image.Channels)) > level)
                {
                    minX = Math.Min(minX, x);
                    maxX = Math.Max(maxX, x);
                    minY = Math.Min(minY, y);
                    maxY = y;
                }
            }
        }

        // No ink: the whole image goes on, as a blank input is still an input.
        return maxX < 0 ? image : Crop(image, minX, minY, maxX - minX + 1, maxY - minY + 1);
    }

    public static FloatImage Fit(FloatImage image, int boxWidth, int boxHeight, bool upscale)
    {
        var scale = Math.Min((double)boxWidth / image.Width, (double)boxHeight / image.Height);
        if (!upscale && scale > 1)
        {
            return image;
        }

        var width = Math.Clamp((int)Math.Round(image.Width * scale), 1, boxWidth);
        var height = Math.Clamp((int)Math.Round(image.Height * scale), 1, boxHeight);
        return Replace(image, Resampler.Resize(image, width, height));
    }

    /// <summary>Shifts by whole pixels so the intensity-weighted centre lands on the frame's centre; what falls outside is cut.</summary>
    public static FloatImage CenterOfMass(FloatImage image, int width, int height, float fill)
    {
        var (mass, momentX, momentY) = Moments(image);
        var (centreX, centreY) = mass > 0 ? (momentX / mass, momentY / mass) : (image.Width / 2.0, image.Height / 2.0);
        var dx = (int)Math.Round((width / 2.0) - centreX, MidpointRounding.AwayFromZero);
        var dy = (int)Math.Round((height / 2.0) - centreY, MidpointRounding.AwayFromZero);
        return Replace(image, Place(image, width, height, dx, dy, fill));
    }

    public static FloatImage Resize(FloatImage image, int width, int height, string mode, float fill)
    {
        switch (mode)
        {
            case ResizeStep.Cover:
            {
                // Crops the source to the frame's aspect ratio first, so a very long image never scales up whole.
                var (cropWidth, cropHeight) = (long)image.Width * height > (long)image.Height * width
                    ? (Math.Clamp((int)Math.Round((double)image.Height * width / height), 1, image.Width), image.Height)
                    : (image.Width, Math.Clamp((int)Math.Round((double)image.Width * height / width), 1, image.Height));
                using var cropped = Crop(image, (image.Width - cropWidth) / 2, (image.Height - cropHeight) / 2, cropWidth, cropHeight, keep: true);
                return Replace(image, Resampler.Resize(cropped, width, height));
            }

            case ResizeStep.Contain:
            {
                var scale = Math.Min((double)width / image.Width, (double)height / image.Height);
                var scaledWidth = Math.Clamp((int)Math.Round(image.Width * scale), 1, width);
                var scaledHeight = Math.Clamp((int)Math.Round(image.Height * scale), 1, height);
                using var scaled = Resampler.Resize(image, scaledWidth, scaledHeight);
                return Replace(image, Place(scaled, width, height, (width - scaledWidth) / 2, (height - scaledHeight) / 2, fill));
            }

            default:
                return Replace(image, Resampler.Resize(image, width, height));
        }
    }

    /// <summary>Scales so the shorter side is <paramref name="size"/>, the longer one as torchvision rounds it.</summary>
    /// <exception cref="PreprocessException">The result would have more than <paramref name="maxPixels"/> pixels.</exception>
    public static FloatImage ResizeShorter(FloatImage image, int size, long maxPixels)
    {
        var (width, height) = ShorterScaledSize(image, size, maxPixels);
        return width == image.Width && height == image.Height ? image : Replace(image, Resampler.Resize(image, width, height));
    }

    /// <summary>Cuts out the centre as torchvision's CenterCrop does, padding with level 0 where the image is smaller than the crop.</summary>
    public static FloatImage CenterCrop(FloatImage image, int width, int height)
    {
        var left = CenterCropStep.Offset(image.Width, width);
        var top = CenterCropStep.Offset(image.Height, height);
        if (left >= 0 && top >= 0 && left + width <= image.Width && top + height <= image.Height)
        {
            return Crop(image, left, top, width, height);
        }

        return Replace(image, Place(image, width, height, -left, -top, 0));
    }

    /// <summary>
    /// <see cref="ResizeShorter"/> then <see cref="CenterCrop"/> with the same result, computing only the pixels the crop
    /// keeps: Resize(256) then CenterCrop(224) would otherwise resample a third more pixels than it keeps, and copy the rest.
    /// </summary>
    public static FloatImage ResizeShorterThenCenterCrop(FloatImage image, int size, int width, int height, long maxPixels)
    {
        if (PlanResizeShorterThenCenterCrop(image.Width, image.Height, size, width, height, maxPixels) is not { } plan)
        {
            // Padding as well: rare, since a crop is usually smaller than the size it follows.
            return CenterCrop(ResizeShorter(image, size, maxPixels), width, height);
        }

        if (plan.ScaledWidth == image.Width && plan.ScaledHeight == image.Height && width == plan.ScaledWidth && height == plan.ScaledHeight)
        {
            return image;
        }

        return Replace(image, Resampler.ResizeRegion(image, plan.ScaledWidth, plan.ScaledHeight, plan.Left, plan.Top, width, height));
    }

    /// <summary>
    /// The size resize_shorter makes of an image and where center_crop's region lies in it; null when the crop reaches
    /// past the resized image and needs padding.
    /// </summary>
    /// <exception cref="PreprocessException">The resized image would be over <paramref name="maxPixels"/>.</exception>
    public static ResizeCropPlan? PlanResizeShorterThenCenterCrop(int imageWidth, int imageHeight, int size, int width, int height, long maxPixels)
    {
        var (scaledWidth, scaledHeight) = ShorterScaledSize(imageWidth, imageHeight, size, maxPixels);
        var left = CenterCropStep.Offset(scaledWidth, width);
        var top = CenterCropStep.Offset(scaledHeight, height);
        return left < 0 || top < 0 || left + width > scaledWidth || top + height > scaledHeight
            ? null
            : new ResizeCropPlan(scaledWidth, scaledHeight, left, top);
    }

    private static (int Width, int Height) ShorterScaledSize(FloatImage image, int size, long maxPixels) =>
        ShorterScaledSize(image.Width, image.Height, size, maxPixels);

    private static (int Width, int Height) ShorterScaledSize(int imageWidth, int imageHeight, int size, long maxPixels)
    {
        var (width, height) = ResizeShorterStep.OutputSize(imageWidth, imageHeight, size);

        // Scaling the shorter side of a very long image makes the longer one huge; the pixel limit that bounds
        // a decoded image bounds the scaled one too.
        if (width * height > maxPixels || Math.Max(width, height) > int.MaxValue)
        {
            throw new PreprocessException(
                StatusCodes.Status413PayloadTooLarge,
                string.Create(
                    System.Globalization.CultureInfo.InvariantCulture,
                    $"resize_shorter to {size} would make this {imageWidth}x{imageHeight} image {width}x{height} ({width * height:N0} pixels), over the limit of {maxPixels:N0} pixels; send an image closer to square"));
        }

        return ((int)width, (int)height);
    }

    private static FloatImage Crop(FloatImage image, int x, int y, int width, int height, bool keep = false)
    {
        if (x == 0 && y == 0 && width == image.Width && height == image.Height && !keep)
        {
            return image;
        }

        var result = FloatImage.Create(width, height, image.Channels);
        for (var row = 0; row < height; row++)
        {
            image.Row(y + row).Slice(x * image.Channels, width * image.Channels).CopyTo(result.Row(row));
        }

        if (!keep)
        {
            image.Dispose();
        }

        return result;
    }

    /// <summary>A new frame of <paramref name="fill"/> with the image's pixel (x, y) at (x + dx, y + dy), clipped to the frame.</summary>
    private static FloatImage Place(FloatImage image, int width, int height, int dx, int dy, float fill)
    {
        var channels = image.Channels;
        var frame = FloatImage.Filled(width, height, channels, fill);
        var firstX = Math.Max(0, -dx);
        var lastX = Math.Min(image.Width, width - dx);
        if (firstX >= lastX)
        {
            return frame;
        }

        for (var y = Math.Max(0, -dy); y < Math.Min(image.Height, height - dy); y++)
        {
            image.Row(y).Slice(firstX * channels, (lastX - firstX) * channels)
                .CopyTo(frame.Row(y + dy).Slice((firstX + dx) * channels));
        }

        return frame;
    }

    private static FloatImage Replace(FloatImage old, FloatImage result)
    {
        if (!ReferenceEquals(old, result))
        {
            old.Dispose();
        }

        return result;
    }

    /// <summary>The image's mass (the sum of its levels) and its moments about x and y, pixel centres at +0.5.</summary>
    internal static (double Mass, double MomentX, double MomentY) Moments(FloatImage image)
    {
        var (width, channels) = (image.Width, image.Channels);
        double mass = 0, momentX = 0, momentY = 0;
        if (channels != 1)
        {
            // By hand: TensorPrimitives has no sum over each pixel's interleaved channels.
            for (var y = 0; y < image.Height; y++)
            {
                var row = image.Row(y);
                for (var x = 0; x < width; x++)
                {
                    var m = (double)Sum(row.Slice(x * channels, channels));
                    mass += m;
                    momentX += m * (x + 0.5);
                    momentY += m * (y + 0.5);
                }
            }

            return (mass, momentX, momentY);
        }

        // In double, as by hand: each level, and its product with a pixel centre, is exact there, so only the order
        // of the adds differs; the sums came out the same to the bit on the benchmark's digits (image-kernels).
        var buffer = ArrayPool<double>.Shared.Rent(2 * width);
        try
        {
            var levels = buffer.AsSpan(0, width);
            var centres = buffer.AsSpan(width, width);
            for (var x = 0; x < width; x++)
            {
                centres[x] = x + 0.5;
            }

            for (var y = 0; y < image.Height; y++)
            {
                TensorPrimitives.ConvertChecked<float, double>(image.Row(y), levels);
                var rowMass = TensorPrimitives.Sum<double>(levels);
                mass += rowMass;
                momentX += TensorPrimitives.Dot<double>(levels, centres);
                momentY += rowMass * (y + 0.5);
            }

            return (mass, momentX, momentY);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>The index of the first level above <paramref name="level"/>, or -1.</summary>
    private static int FirstAbove(ReadOnlySpan<float> levels, float level, Vector<float> above)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(levels);
            var v = 0;
            while (v < vectors.Length && !Vector.GreaterThanAny(vectors[v], above))
            {
                v++;
            }

            i = v * Vector<float>.Count;
        }

        for (; i < levels.Length; i++)
        {
            if (levels[i] > level)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The index of the last level above <paramref name="level"/>; there is one.</summary>
    private static int LastAbove(ReadOnlySpan<float> levels, float level)
    {
        var i = levels.Length - 1;
        while (!(levels[i] > level))
        {
            i--;
        }

        return i;
    }

    /// <summary>The levels of one pixel's channels, by hand: on three values a TensorPrimitives call is no faster, and it adds them in another order.</summary>
    private static float Sum(ReadOnlySpan<float> channels)
    {
        var sum = 0f;
        foreach (var level in channels)
        {
            sum += level;
        }

        return sum;
    }

    private static float MedianIntensity(FloatImage image)
    {
        Span<int> histogram = stackalloc int[256];
        histogram.Clear();
        var channels = image.Channels;
        var pixels = image.Pixels;
        if (channels == 1)
        {
            // Four histograms summed at the end: a light image puts nearly every pixel in one bin, and
            // one counter would make each increment wait for the one before.
            Span<int> partial = stackalloc int[4 * 256];
            partial.Clear();
            var i = 0;
            for (; i + 4 <= pixels.Length; i += 4)
            {
                partial[Math.Clamp((int)pixels[i], 0, 255)]++;
                partial[256 + Math.Clamp((int)pixels[i + 1], 0, 255)]++;
                partial[512 + Math.Clamp((int)pixels[i + 2], 0, 255)]++;
                partial[768 + Math.Clamp((int)pixels[i + 3], 0, 255)]++;
            }

            for (; i < pixels.Length; i++)
            {
                partial[Math.Clamp((int)pixels[i], 0, 255)]++;
            }

            for (var level = 0; level < histogram.Length; level++)
            {
                histogram[level] = partial[level] + partial[256 + level] + partial[512 + level] + partial[768 + level];
            }
        }
        else
        {
            for (var i = 0; i < pixels.Length; i += channels)
            {
                var level = Sum(pixels.Slice(i, channels)) / channels;
                histogram[Math.Clamp((int)level, 0, 255)]++;
            }
        }

        var half = (image.Width * image.Height) / 2;
        var seen = 0;
        for (var level = 0; level < histogram.Length; level++)
        {
            seen += histogram[level];
            if (seen > half)
            {
                return level + 0.5f;
            }
        }

        return 255;
    }
}

/// <summary>resize_shorter's size for an image, and the top-left corner of center_crop's region in it.</summary>
internal readonly record struct ResizeCropPlan(int ScaledWidth, int ScaledHeight, int Left, int Top);

/// <summary>A resize_shorter step followed by a center_crop one.</summary>
internal readonly record struct ResizeShorterThenCrop(int Size, int Width, int Height);
