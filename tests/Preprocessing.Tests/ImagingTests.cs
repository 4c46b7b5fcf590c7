using MlPlatform.Preprocessing.Config;
using MlPlatform.Preprocessing.Imaging;
using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>The decoder and image steps on their own, in process.</summary>
public sealed class ImagingTests
{
    [Fact]
    public void Decode_LargeJpeg_DecodesAtReducedSizeNotFullSize()
    {
        var photo = TestImages.PhotoOfDigit(HoldOutDigits.First(7));

        using var image = ImageDecoder.Decode(photo, minSide: 256, background: 255, grayscale: true, maxPixels: 40_000_000, out var size);

        Assert.Equal((4000, 3000), (size.Width, size.Height));
        // libjpeg's 1/8 scale: 500x375 pixels decoded, about 1/64 of the full 12 megapixels.
        Assert.Equal((500, 375), (size.DecodedWidth, size.DecodedHeight));
        Assert.Equal((341, 256, 1), (image.Width, image.Height, image.Channels));
    }

    [Fact]
    public void Decode_HeaderOverThePixelLimit_ThrowsBeforeDecoding()
    {
        var exception = Assert.Throws<PreprocessException>(() =>
            ImageDecoder.Decode(DigitImages.PngHeader(20_000, 20_000), 256, 255, grayscale: false, maxPixels: 40_000_000, out _));

        Assert.Equal(413, exception.StatusCode);
        Assert.Contains("20000x20000", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 64, 32, "red-left")]
    [InlineData(3, 64, 32, "blue-left")]
    [InlineData(6, 32, 64, "red-top")]
    [InlineData(8, 32, 64, "blue-top")]
    public void Decode_ExifOrientation_TurnsTheImageUpright(ushort orientation, int width, int height, string expected)
    {
        // Stored 64x32: red on the left, blue on the right.
        var jpeg = TestImages.WithExifOrientation(TestImages.Solid(64, 32, SKColors.Red, SKColors.Blue, SKEncodedImageFormat.Jpeg), orientation);

        using var image = ImageDecoder.Decode(jpeg, 256, 255, grayscale: false, maxPixels: 1_000_000, out _);

        Assert.Equal((width, height), (image.Width, image.Height));
        var (firstX, firstY) = expected.EndsWith("left", StringComparison.Ordinal) ? (4, height / 2) : (width / 2, 4);
        var first = image.Pixels.Slice(((firstY * width) + firstX) * 3, 3);
        var redFirst = expected.StartsWith("red", StringComparison.Ordinal);
        Assert.True(redFirst ? first[0] > 200 && first[2] < 60 : first[2] > 200 && first[0] < 60, $"pixel ({firstX}, {firstY}) is ({first[0]}, {first[1]}, {first[2]})");
    }

    [Fact]
    public void Resize_Shrinking_KeepsTheMeanLevel()
    {
        var random = new Random(7);
        using var source = FloatImage.Create(101, 67, 1);
        var pixels = source.Pixels;
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.Next(256);
        }

        using var small = Resampler.Resize(source, 9, 7);

        Assert.Equal(Mean(source.Pixels), Mean(small.Pixels), 1);
    }

    [Fact]
    public void CenterOfMass_InkInACorner_MovesItToTheFrameCentre()
    {
        var image = FloatImage.Filled(10, 10, 1, 0);
        image.Pixels[(8 * 10) + 8] = 255;
        image.Pixels[(8 * 10) + 9] = 255;

        using var framed = ImageSteps.CenterOfMass(image, 28, 28, 0);

        Assert.Equal((28, 28), (framed.Width, framed.Height));
        // The ink's centre, x 9.0 and y 8.5, goes to 14.0 and 14.0: whole-pixel shifts of 5 and 6 (5.5 rounded away from zero).
        Assert.Equal(255, framed.Pixels[(14 * 28) + 13]);
        Assert.Equal(255, framed.Pixels[(14 * 28) + 14]);
        Assert.Equal(510, Sum(framed.Pixels));
    }

    [Fact]
    public void RemoveBackground_UnevenPaper_LeavesOnlyTheInk()
    {
        // A horizontal ramp of paper (inverted: dark, 20..120) with one bright stroke.
        var image = FloatImage.Create(200, 100, 1);
        for (var y = 0; y < 100; y++)
        {
            for (var x = 0; x < 200; x++)
            {
                image.Pixels[(y * 200) + x] = 20 + (x / 2f) + (x is >= 95 and < 105 ? 120 : 0);
            }
        }

        using var cleaned = ImageSteps.RemoveBackground(image, 0.25f);

        Assert.True(cleaned.Pixels[(50 * 200) + 10] < 15, $"paper at the left is {cleaned.Pixels[(50 * 200) + 10]}");
        Assert.True(cleaned.Pixels[(50 * 200) + 190] < 15, $"paper at the right is {cleaned.Pixels[(50 * 200) + 190]}");
        Assert.True(cleaned.Pixels[(50 * 200) + 100] > 110, $"the stroke is {cleaned.Pixels[(50 * 200) + 100]}");
    }

    [Fact]
    public void Resize_CoverOfAVeryLongImage_CropsTheCentreBeforeScaling()
    {
        // 100,000x2 covering 8x8 would be 400,000x8 if scaled whole; cropped first it is 2x2.
        var image = FloatImage.Filled(100_000, 2, 1, 0);
        image.Pixels[49_999] = image.Pixels[50_000] = image.Pixels[149_999] = image.Pixels[150_000] = 255;

        using var covered = ImageSteps.Resize(image, 8, 8, ResizeStep.Cover, 0);

        Assert.Equal((8, 8), (covered.Width, covered.Height));
        Assert.All(covered.Pixels.ToArray(), level => Assert.Equal(255, level, 3));
    }

    [Fact]
    public void Resize_ContainOfATallImage_PadsLeftAndRight()
    {
        using var contained = ImageSteps.Resize(FloatImage.Filled(10, 40, 1, 100), 8, 8, ResizeStep.Contain, 7);

        Assert.Equal(7, contained.Pixels[(4 * 8) + 0]);
        Assert.Equal(100, contained.Pixels[(4 * 8) + 3], 3);
        Assert.Equal(100, contained.Pixels[(4 * 8) + 4], 3);
        Assert.Equal(7, contained.Pixels[(4 * 8) + 7]);
    }

    [Fact]
    public void Decode_OpaqueImage_GivesTheLevelsOfTheSamePixelsWithAnAlphaOfFull()
    {
        // The same pixels twice: once as a PNG with an alpha channel at 255 everywhere (composed on the background
        // pixel by pixel), once as an RGB PNG with no alpha at all (levels widened as they are).
        using var withAlpha = new SKBitmap(new SKImageInfo(37, 23, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var opaque = new SKBitmap(new SKImageInfo(37, 23, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var random = new Random(7);
        var pixels = withAlpha.GetPixelSpan();
        random.NextBytes(pixels);
        for (var i = 3; i < pixels.Length; i += 4)
        {
            pixels[i] = byte.MaxValue;
        }

        pixels.CopyTo(opaque.GetPixelSpan());

        using var composed = ImageDecoder.Decode(TestImages.Encode(withAlpha, SKEncodedImageFormat.Png), 1000, 77, grayscale: false, maxPixels: 1_000_000, out _);
        using var widened = ImageDecoder.Decode(TestImages.Encode(opaque, SKEncodedImageFormat.Png), 1000, 77, grayscale: false, maxPixels: 1_000_000, out _);

        Assert.Equal(composed.Pixels.ToArray(), widened.Pixels.ToArray());
        Assert.Equal(pixels[4 + 1], widened.Pixels[3 + 1]);
    }

    [Theory]
    [InlineData(640, 341)]
    [InlineData(97, 31)]
    [InlineData(31, 97)]
    public void ResampleRow_ThreeChannels_AddsEachChannelAsOneChannelAlone(int sourceWidth, int targetWidth)
    {
        var random = new Random(sourceWidth);
        var rgb = new float[sourceWidth * 3];
        for (var i = 0; i < rgb.Length; i++)
        {
            rgb[i] = (float)(random.NextDouble() * 255);
        }

        using var columns = Resampler.Weights.Create(sourceWidth, targetWidth);
        var resampled = new float[targetWidth * 3];
        Resampler.ResampleRow(rgb, resampled, columns, 3);

        var plane = new float[sourceWidth];
        var alone = new float[targetWidth];
        for (var c = 0; c < 3; c++)
        {
            for (var x = 0; x < sourceWidth; x++)
            {
                plane[x] = rgb[(x * 3) + c];
            }

            Resampler.ResampleRow(plane, alone, columns, 1);
            for (var x = 0; x < targetWidth; x++)
            {
                Assert.Equal(alone[x], resampled[(x * 3) + c]);
            }
        }
    }

    private static double Mean(ReadOnlySpan<float> values) => Sum(values) / values.Length;

    private static double Sum(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (var value in values)
        {
            sum += value;
        }

        return sum;
    }
}
