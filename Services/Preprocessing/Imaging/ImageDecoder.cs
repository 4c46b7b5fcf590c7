using System.Buffers;
using System.Globalization;
using SkiaSharp;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// Decodes an encoded image into an RGB or grey <see cref="FloatImage"/> no larger than the pipeline needs.
/// </summary>
/// <remarks>
/// The header is read first and an image declaring more than the pixel limit is refused before a
/// byte is decoded. JPEG and WebP decode straight to a reduced size (JPEG in eighths, WebP to any
/// size), so a 4000x3000 photo for a 28x28 model allocates 500x375 pixels; Skia has no reduced
/// decoding for PNG and BMP, so they decode whole, which the pixel limit bounds. Area averaging then
/// brings the image to the working size while converting to floats, one row at a time.
/// </remarks>
internal static class ImageDecoder
{
    public const string AcceptedFormats = "PNG, JPEG, WebP or BMP";

    /// <param name="grayscale">Whether to yield one grey channel (BT.601 luma) instead of RGB, which saves the later steps two thirds of their work.</param>
    public static FloatImage Decode(ReadOnlySpan<byte> encoded, int minSide, float background, bool grayscale, long maxPixels, out DecodedSize size) =>
        Decode(encoded, minSide, background, grayscale, maxPixels, resizeCrop: null, out size, out _);

    /// <summary>
    /// Decodes, and when <paramref name="resizeCrop"/> is given and the image needs no reduction or turning first, runs
    /// resize_shorter then center_crop on the decoded rows as they are widened to floats: the same levels as decoding
    /// and then running the two steps, without the whole image in floats (a 640x480 photo's 3.7 MB) being written and read.
    /// </summary>
    /// <param name="resized">Whether <paramref name="resizeCrop"/> was applied; when false the steps are still to run.</param>
    public static FloatImage Decode(
        ReadOnlySpan<byte> encoded, int minSide, float background, bool grayscale, long maxPixels, ResizeShorterThenCrop? resizeCrop, out DecodedSize size, out bool resized)
    {
        resized = false;
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new PreprocessException(StatusCodes.Status400BadRequest, $"the data is not a {AcceptedFormats} image, or its header is damaged");

        var format = codec.EncodedFormat;
        if (format is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp or SKEncodedImageFormat.Bmp))
        {
            throw new PreprocessException(StatusCodes.Status415UnsupportedMediaType, $"the image is {format.ToString().ToUpperInvariant()}; send a {AcceptedFormats} image");
        }

        var width = codec.Info.Width;
        var height = codec.Info.Height;
        var pixels = (long)width * height;
        if (width < 1 || height < 1)
        {
            throw new PreprocessException(StatusCodes.Status400BadRequest, $"the image header declares {width}x{height} pixels");
        }

        if (pixels > maxPixels)
        {
            throw new PreprocessException(
                StatusCodes.Status413PayloadTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"the image is {width}x{height} ({pixels:N0} pixels), over the limit of {maxPixels:N0} pixels; send a smaller image"));
        }

        var decodeSize = new SKSizeI(width, height);
        var shorter = Math.Min(width, height);
        if (shorter > minSide)
        {
            // JPEG decodes at the eighth of its size nearest the scale asked for (Skia rounds, it does not round up), so its
            // shorter side can come out below minSide by up to a sixteenth of the original's: 4000x3000 for 896 decodes 1000x750.
            var scaled = codec.GetScaledDimensions((float)minSide / shorter);
            if (scaled.Width >= 1 && scaled.Height >= 1 && scaled.Width <= width && scaled.Height <= height)
            {
                decodeSize = scaled;
            }
        }

        // A grey image without alpha (most scans and digit drawings) decodes to one byte a pixel: Skia would
        // otherwise spread every grey level over four bytes that Compose then folds back into one.
        var greySource = codec.Info is { ColorType: SKColorType.Gray8, AlphaType: SKAlphaType.Opaque };
        var info = greySource
            ? new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Gray8, SKAlphaType.Opaque)
            : new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            throw new PreprocessException(StatusCodes.Status503ServiceUnavailable, "the server has no memory for this image now; retry later");
        }

        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            throw new PreprocessException(StatusCodes.Status400BadRequest, result switch
            {
                SKCodecResult.IncompleteInput => $"the {format.ToString().ToUpperInvariant()} image is truncated: its data ends before the last row",
                _ => $"the {format.ToString().ToUpperInvariant()} image is damaged and cannot be decoded ({result})",
            });
        }

        var (targetWidth, targetHeight) = WorkingSize(decodeSize.Width, decodeSize.Height, minSide);
        size = new DecodedSize(width, height, decodeSize.Width, decodeSize.Height);
        var composer = new RowComposer(background, grayscale ? 1 : 3, greySource, codec.Info.AlphaType == SKAlphaType.Opaque);
        if (resizeCrop is { } step && targetWidth == decodeSize.Width && targetHeight == decodeSize.Height && !Orientation.Turns(codec.EncodedOrigin)
            && ImageSteps.PlanResizeShorterThenCenterCrop(targetWidth, targetHeight, step.Size, step.Width, step.Height, maxPixels) is { } plan)
        {
            resized = true;
            var rows = new ComposedRows(bitmap.GetPixelSpan(), composer, targetWidth, targetHeight);
            return Resampler.ResizeRegion(rows, plan.ScaledWidth, plan.ScaledHeight, plan.Left, plan.Top, step.Width, step.Height);
        }

        var image = Reduce(bitmap.GetPixelSpan(), composer, decodeSize.Width, decodeSize.Height, targetWidth, targetHeight);
        return Orientation.Apply(image, codec.EncodedOrigin);
    }

    /// <summary>The decoded rows widened to levels on the background as the resampler reads each one.</summary>
    private readonly ref struct ComposedRows(ReadOnlySpan<byte> pixels, RowComposer composer, int width, int height) : Resampler.IRowSource
    {
        private readonly ReadOnlySpan<byte> _pixels = pixels;

        public int Width => width;

        public int Height => height;

        public int Channels => composer.Channels;

        public ReadOnlySpan<float> Row(int y, Span<float> scratch)
        {
            var rowBytes = width * composer.BytesPerPixel;
            var row = scratch[..(width * composer.Channels)];
            composer.Compose(_pixels.Slice(y * rowBytes, rowBytes), row);
            return row;
        }
    }

    private static (int Width, int Height) WorkingSize(int width, int height, int minSide)
    {
        var shorter = Math.Min(width, height);
        if (shorter <= minSide)
        {
            return (width, height);
        }

        var scale = (double)minSide / shorter;
        return (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
    }

    /// <summary>
    /// Lays the decoded rows on the background and averages them down to the target size in one pass:
    /// each source row is reduced along x, then added to the one or two target rows it overlaps.
    /// </summary>
    private static FloatImage Reduce(ReadOnlySpan<byte> pixels, RowComposer composer, int width, int height, int targetWidth, int targetHeight)
    {
        var channels = composer.Channels;
        var rowBytes = width * composer.BytesPerPixel;
        var image = FloatImage.Create(targetWidth, targetHeight, channels);
        var composed = ArrayPool<float>.Shared.Rent(width * channels);
        var reduced = ArrayPool<float>.Shared.Rent(targetWidth * channels);
        try
        {
            if (targetWidth == width && targetHeight == height)
            {
                for (var y = 0; y < height; y++)
                {
                    composer.Compose(pixels.Slice(y * rowBytes, rowBytes), image.Row(y));
                }

                return image;
            }

            image.Pixels.Clear();
            using var columns = Resampler.Weights.Create(width, targetWidth);
            var scale = (double)height / targetHeight;
            for (var y = 0; y < height; y++)
            {
                var source = composed.AsSpan(0, width * channels);
                composer.Compose(pixels.Slice(y * rowBytes, rowBytes), source);
                var row = reduced.AsSpan(0, targetWidth * channels);
                Resampler.ResampleRow(source, row, columns, channels);

                // Target row t covers source rows [t * scale, (t + 1) * scale).
                var target = (int)(y / scale);
                while (target < targetHeight)
                {
                    var low = target * scale;
                    var overlap = Math.Min(y + 1, low + scale) - Math.Max(y, low);
                    if (overlap <= 0)
                    {
                        break;
                    }

                    Resampler.AddScaled(row, (float)(overlap / scale), image.Row(target));
                    if (low + scale >= y + 1)
                    {
                        break;
                    }

                    target++;
                }
            }

            return image;
        }
        catch
        {
            image.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(composed);
            ArrayPool<float>.Shared.Return(reduced);
        }
    }

    /// <summary>
    /// Turns decoded rows into levels on the background: RGBA rows pixel by pixel, grey rows through a table
    /// of the 256 levels, each computed exactly as an RGBA pixel of that grey would be, so both give the same floats.
    /// </summary>
    private readonly struct RowComposer
    {
        private readonly float _background;
        private readonly float[]? _greyLevels;
        private readonly bool _opaque;

        public RowComposer(float background, int channels, bool greySource, bool opaque)
        {
            _background = background;
            _opaque = opaque;
            Channels = channels;
            BytesPerPixel = greySource ? 1 : 4;
            if (greySource)
            {
                _greyLevels = new float[256];
                Span<byte> pixel = stackalloc byte[4];
                Span<float> level = stackalloc float[3];
                for (var v = 0; v < 256; v++)
                {
                    pixel[0] = pixel[1] = pixel[2] = (byte)v;
                    pixel[3] = byte.MaxValue;
                    ComposeRgba(pixel, level[..channels], background);
                    // A grey pixel's three channels are equal, so one level stands for all of them.
                    _greyLevels[v] = level[0];
                }
            }
        }

        public int Channels { get; }

        public int BytesPerPixel { get; }

        public void Compose(ReadOnlySpan<byte> source, Span<float> target)
        {
            if (_greyLevels is not { } levels)
            {
                if (_opaque && Channels == 3)
                {
                    ComposeOpaqueRgb(source, target);
                }
                else
                {
                    ComposeRgba(source, target, _background);
                }

                return;
            }

            if (Channels == 1)
            {
                for (var i = 0; i < source.Length; i++)
                {
                    target[i] = levels[source[i]];
                }

                return;
            }

            for (int i = 0, o = 0; i < source.Length; i++, o += 3)
            {
                var level = levels[source[i]];
                target[o] = level;
                target[o + 1] = level;
                target[o + 2] = level;
            }
        }

        /// <summary>
        /// <see cref="ComposeRgba"/> for an image with no alpha (every JPEG): each level times an alpha of 1 plus no
        /// background is the level itself, so the levels are widened as they are, without the arithmetic.
        /// </summary>
        private static void ComposeOpaqueRgb(ReadOnlySpan<byte> rgba, Span<float> target)
        {
            target = target[..(rgba.Length / 4 * 3)];
            for (int i = 0, o = 0; o < target.Length; i += 4, o += 3)
            {
                var pixel = rgba.Slice(i, 3);
                target[o] = pixel[0];
                target[o + 1] = pixel[1];
                target[o + 2] = pixel[2];
            }
        }

        /// <summary>One row of RGBA onto the background, as RGB or, with one channel per pixel in <paramref name="target"/>, as grey.</summary>
        private static void ComposeRgba(ReadOnlySpan<byte> rgba, Span<float> target, float background)
        {
            var grey = target.Length * 4 == rgba.Length;
            for (int i = 0, o = 0; i < rgba.Length; i += 4)
            {
                var alpha = rgba[i + 3] * (1f / 255);
                var under = background * (1 - alpha);
                if (grey)
                {
                    // ITU-R BT.601 luma, as the grayscale step computes it.
                    target[o++] = (((0.299f * rgba[i]) + (0.587f * rgba[i + 1]) + (0.114f * rgba[i + 2])) * alpha) + under;
                }
                else
                {
                    target[o++] = (rgba[i] * alpha) + under;
                    target[o++] = (rgba[i + 1] * alpha) + under;
                    target[o++] = (rgba[i + 2] * alpha) + under;
                }
            }
        }
    }
}

/// <summary>An image's size as its header declares it, and the size it was decoded at.</summary>
internal readonly record struct DecodedSize(int Width, int Height, int DecodedWidth, int DecodedHeight);
