using System.Text.Json;
using MlPlatform.Preprocessing.Config;
using MlPlatform.Preprocessing.Imaging;
using SkiaSharp;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>
/// The steps of an ImageNet classifier's preprocessing, torchvision's Resize(256), CenterCrop(224), ToTensor and
/// Normalize, in process. Every size and offset expected here is worked out by hand from torchvision's formulas,
/// not taken from the code under test.
/// </summary>
public sealed class ResizeShorterCenterCropTests
{
    private static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    [Theory]
    // int(256 * 640 / 480) = int(341.33) = 341
    [InlineData(640, 480, 341, 256)]
    [InlineData(480, 640, 256, 341)]
    // int(256 * 481 / 367) = int(335.52) = 335: truncated, where rounding would give 336
    [InlineData(481, 367, 335, 256)]
    [InlineData(367, 481, 256, 335)]
    // int(256 * 300 / 100) = 768: the shorter side enlarged
    [InlineData(100, 300, 256, 768)]
    [InlineData(256, 256, 256, 256)]
    [InlineData(1000, 999, 256, 256)]
    public void ResizeShorter_ImageOfOddSize_HasTorchvisionsSize(int width, int height, int expectedWidth, int expectedHeight)
    {
        var image = FloatImage.Filled(width, height, 3, 100);

        using var resized = ImageSteps.ResizeShorter(image, 256, long.MaxValue);

        Assert.Equal((expectedWidth, expectedHeight, 3), (resized.Width, resized.Height, resized.Channels));
    }

    [Fact]
    public void ResizeShorter_HalvingEachSide_AveragesEveryTwoByTwoBlock()
    {
        var random = new Random(11);
        var image = FloatImage.Create(8, 6, 3);
        var levels = new float[8 * 6 * 3];
        for (var i = 0; i < levels.Length; i++)
        {
            levels[i] = random.Next(256);
        }

        levels.CopyTo(image.Pixels);

        using var halved = ImageSteps.ResizeShorter(image, 3, long.MaxValue);

        Assert.Equal((4, 3), (halved.Width, halved.Height));
        for (var y = 0; y < 3; y++)
        {
            for (var x = 0; x < 4; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    float At(int sx, int sy) => levels[(((sy * 8) + sx) * 3) + c];
                    var mean = (At(2 * x, 2 * y) + At((2 * x) + 1, 2 * y) + At(2 * x, (2 * y) + 1) + At((2 * x) + 1, (2 * y) + 1)) / 4;
                    Assert.Equal(mean, halved.Pixels[(((y * 4) + x) * 3) + c], 3);
                }
            }
        }
    }

    [Theory]
    // 341x256: left int(round(117 / 2)) = round(58.5) = 58, halves to even as Python rounds; top 16
    [InlineData(640, 480, 341, 256, 58, 16)]
    // 335x256: left round(55.5) = 56, to even upwards this time
    [InlineData(481, 367, 335, 256, 56, 16)]
    // 256x768: left 16, top 272
    [InlineData(100, 300, 256, 768, 16, 272)]
    [InlineData(480, 640, 256, 341, 16, 58)]
    public void ResizeShorterThenCenterCrop_ImageOfOddSize_IsTheWholeResizeCutAtTorchvisionsOffsets(
        int width, int height, int resizedWidth, int resizedHeight, int left, int top)
    {
        using var source = RandomImage(width, height, seed: width + height);

        // What the step must equal: the whole image resized, then the crop copied out here.
        using var resized = Resampler.Resize(source, resizedWidth, resizedHeight);
        var expected = new float[224 * 224 * 3];
        for (var y = 0; y < 224; y++)
        {
            resized.Row(top + y).Slice(left * 3, 224 * 3).CopyTo(expected.AsSpan(y * 224 * 3));
        }

        using var fused = ImageSteps.ResizeShorterThenCenterCrop(Copy(source), 256, 224, 224, long.MaxValue);
        using var separate = ImageSteps.CenterCrop(ImageSteps.ResizeShorter(Copy(source), 256, long.MaxValue), 224, 224);

        Assert.Equal((224, 224), (fused.Width, fused.Height));
        Assert.Equal(expected, fused.Pixels.ToArray());
        Assert.Equal(expected, separate.Pixels.ToArray());
    }

    [Theory]
    // Padded both ways: (224 - 100) // 2 = 62 on the left, (224 - 80) // 2 = 72 on top.
    [InlineData(100, 80, -62, -72)]
    // An odd padding puts the extra column on the right: (224 - 101) // 2 = 61 on the left, 62 on the right.
    [InlineData(101, 80, -61, -72)]
    // Padded across, cropped down: left pad 62; top round((300 - 224) / 2) = 38.
    [InlineData(100, 300, -62, 38)]
    // Cropped only: round(128.5) = 128, round(71.5) = 72.
    [InlineData(481, 367, 128, 72)]
    public void CenterCrop_AnySize_IsTorchvisionsCropWithZeroPadding(int width, int height, int sourceLeft, int sourceTop)
    {
        // Level 1 + x + 1000 y: never 0, so the padding is told from the image, and each level names its pixel.
        var image = FloatImage.Create(width, height, 1);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image.Pixels[(y * width) + x] = 1 + x + (1000 * y);
            }
        }

        using var cropped = ImageSteps.CenterCrop(image, 224, 224);

        Assert.Equal((224, 224), (cropped.Width, cropped.Height));
        for (var y = 0; y < 224; y++)
        {
            for (var x = 0; x < 224; x++)
            {
                var (sx, sy) = (x + sourceLeft, y + sourceTop);
                var expected = sx >= 0 && sx < width && sy >= 0 && sy < height ? 1 + sx + (1000 * sy) : 0;
                Assert.True(expected == cropped.Pixels[(y * 224) + x], $"({x}, {y}) is {cropped.Pixels[(y * 224) + x]}, not {expected}");
            }
        }
    }

    [Fact]
    public void ResizeShorter_VeryLongImage_IsRefusedOverThePixelLimit()
    {
        // int(256 * 2000 / 10) = 51,200: 51200x256, 13,107,200 pixels.
        var separate = Assert.Throws<PreprocessException>(() => ImageSteps.ResizeShorter(FloatImage.Filled(2000, 10, 3, 0), 256, 1_000_000));
        var fused = Assert.Throws<PreprocessException>(() => ImageSteps.ResizeShorterThenCenterCrop(FloatImage.Filled(2000, 10, 3, 0), 256, 224, 224, 1_000_000));

        foreach (var refused in new[] { separate, fused })
        {
            Assert.Equal(413, refused.StatusCode);
            Assert.Contains("resize_shorter to 256 would make this 2000x10 image 51200x256 (13,107,200 pixels), over the limit of 1,000,000 pixels", refused.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("NCHW", "RGB")]
    [InlineData("NCHW", "BGR")]
    [InlineData("NHWC", "RGB")]
    [InlineData("NHWC", "BGR")]
    [InlineData("NCHW", null)]
    public void Run_PositionCodedImage_PutsEveryLevelAtItsPlaceChannelAndOrder(string layout, string? channelOrder)
    {
        // 249x151 keeps its size (int(151 * 249 / 151) = 249), then the 100x100 centre: left round(74.5) = 74, top round(25.5) = 26.
        // Means and stds apart by powers of two, so every value is exact and a mean applied to the wrong channel shows.
        var order = channelOrder is null ? "" : $""" "channel_order": "{channelOrder}", """;
        var pipeline = Pipeline($$"""
            {
              "input": "x", "layout": "{{layout}}", "width": 100, "height": 100, "channels": 3, {{order}}
              "steps": [
                { "op": "decode" }, { "op": "resize_shorter", "size": 151 }, { "op": "center_crop", "width": 100, "height": 100 },
                { "op": "normalize", "mean": [1000, 2000, 3000], "std": [1, 2, 4] }
              ]
            }
            """);
        var tensor = new float[100 * 100 * 3];

        pipeline.Run(TestImages.PositionCoded(249, 151), 1_000_000, tensor);

        float[] mean = [1000, 2000, 3000];
        float[] std = [1, 2, 4];
        for (var y = 0; y < 100; y++)
        {
            for (var x = 0; x < 100; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    var imageChannel = channelOrder == "BGR" ? 2 - c : c;
                    var expected = (TestImages.PositionLevel(x + 74, y + 26, imageChannel) - mean[c]) / std[c];
                    var index = layout == "NCHW" ? (c * 100 * 100) + (y * 100) + x : (((y * 100) + x) * 3) + c;
                    Assert.True(expected == tensor[index], $"channel {c} at ({x}, {y}) is {tensor[index]}, not {expected}");
                }
            }
        }
    }

    [Theory]
    [InlineData("NCHW", "RGB", 1)]
    [InlineData("NHWC", "BGR", 1)]
    [InlineData("NCHW", "RGB", 6)]
    public void Run_640x480JpegThroughTheImageNetSteps_GivesEachQuadrantsNormalisedColour(string layout, string channelOrder, ushort orientation)
    {
        SKColor[] stored = [new(200, 40, 40), new(40, 200, 40), new(40, 40, 200), new(220, 220, 60)];
        var jpeg = TestImages.WithExifOrientation(
            TestImages.Quadrants(640, 480, stored[0], stored[1], stored[2], stored[3], SKEncodedImageFormat.Jpeg), orientation);

        // Orientation 6 turns the stored image a quarter clockwise: seen upright, the stored bottom left is at the top left.
        var seen = orientation == 6 ? new[] { stored[2], stored[0], stored[3], stored[1] } : stored;
        var pipeline = Pipeline($$"""
            {
              "input": "input", "datatype": "FP32", "layout": "{{layout}}", "width": 224, "height": 224, "channels": 3, "channel_order": "{{channelOrder}}",
              "steps": [ { "op": "decode" }, { "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "width": 224, "height": 224 },
                         { "op": "normalize", "scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] } ]
            }
            """);
        var tensor = new float[224 * 224 * 3];

        var size = pipeline.Run(jpeg, 1_000_000, tensor);

        Assert.Equal((640, 480), (size.Width, size.Height));

        // 341x256 (or 256x341 upright) cropped at 58 (or 16) and 16 (or 58): the quadrants meet near 112 each way.
        foreach (var (x, y, quadrant) in new[] { (30, 30, 0), (190, 30, 1), (30, 190, 2), (190, 190, 3), (100, 100, 0), (125, 125, 3) })
        {
            var color = seen[quadrant];
            byte[] rgb = [color.Red, color.Green, color.Blue];
            for (var c = 0; c < 3; c++)
            {
                var index = layout == "NCHW" ? (c * 224 * 224) + (y * 224) + x : (((y * 224) + x) * 3) + c;
                var level = ((tensor[index] * ImageNetStd[c]) + ImageNetMean[c]) * 255;
                var expected = rgb[channelOrder == "BGR" ? 2 - c : c];
                Assert.True(Math.Abs(level - expected) <= 8, $"channel {c} at ({x}, {y}) is level {level:F1}, not about {expected}");
            }
        }
    }

    [Theory]
    // A photo as an ImageNet client sends it: decoded whole, then resized and cropped on its rows as they are read.
    [InlineData(640, 480, "jpeg", false, 0, true, 224)]
    [InlineData(480, 640, "jpeg", false, 0, true, 224)]
    [InlineData(640, 480, "jpeg", true, 0, true, 224)]
    // Alpha laid on the background as the rows are widened, and a shorter side enlarged (bilinear, not area).
    [InlineData(300, 200, "png", false, 0, true, 224)]
    [InlineData(150, 120, "png", true, 0, true, 224)]
    // libjpeg decodes a large photo in eighths (here 2/8, 1000x750), which needs no averaging down after.
    [InlineData(4000, 3000, "jpeg", false, 0, true, 224)]
    // Averaged down to the working size first (a PNG decodes whole), turned by its EXIF orientation first, or padded by
    // the crop (300 rows from 256): the steps then run on the decoded image as before.
    [InlineData(1200, 1000, "png", false, 0, false, 224)]
    [InlineData(640, 480, "jpeg", false, 6, false, 224)]
    [InlineData(640, 230, "png", false, 0, false, 300)]
    public void Decode_WithResizeShorterThenCrop_GivesTheLevelsOfTheStepsRunAfterDecode(int width, int height, string format, bool grayscale, ushort orientation, bool fusedExpected, int cropHeight)
    {
        var encoded = NoiseImage(width, height, format == "png" ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, seed: width + height);
        if (orientation != 0)
        {
            encoded = TestImages.WithExifOrientation(encoded, orientation);
        }

        // The pipeline's default working size for a 224x224 model: four times its longer side.
        const int minSide = 4 * 224;
        const long maxPixels = 40_000_000;
        var crop = (Size: 256, Width: 224, Height: cropHeight);
        var decoded = ImageDecoder.Decode(encoded, minSide, 77, grayscale, maxPixels, out _);
        using var stepwise = ImageSteps.ResizeShorterThenCenterCrop(decoded, crop.Size, crop.Width, crop.Height, maxPixels);

        using var fused = ImageDecoder.Decode(encoded, minSide, 77, grayscale, maxPixels, new ResizeShorterThenCrop(crop.Size, crop.Width, crop.Height), out _, out var resized);

        Assert.Equal(fusedExpected, resized);
        if (!resized)
        {
            // Not applied: the caller runs the steps on what came back, which is the decoded image.
            using var thenSteps = ImageSteps.ResizeShorterThenCenterCrop(fused, crop.Size, crop.Width, crop.Height, maxPixels);
            Assert.Equal((stepwise.Width, stepwise.Height, stepwise.Channels), (thenSteps.Width, thenSteps.Height, thenSteps.Channels));
            Assert.True(stepwise.Pixels.SequenceEqual(thenSteps.Pixels), "the levels differ from the steps run after decode");
            return;
        }

        Assert.Equal((crop.Width, crop.Height, grayscale ? 1 : 3), (fused.Width, fused.Height, fused.Channels));
        Assert.Equal((stepwise.Width, stepwise.Height, stepwise.Channels), (fused.Width, fused.Height, fused.Channels));
        var expected = stepwise.Pixels;
        var actual = fused.Pixels;
        for (var i = 0; i < expected.Length; i++)
        {
            // Bit for bit: the same products and sums in the same order, only never stored as a whole image.
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"level {i}: {actual[i]} where the steps give {expected[i]}");
        }
    }

    private static byte[] NoiseImage(int width, int height, SKEncodedImageFormat format, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, format == SKEncodedImageFormat.Png ? SKAlphaType.Unpremul : SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        random.NextBytes(pixels);
        if (format != SKEncodedImageFormat.Png)
        {
            for (var i = 3; i < pixels.Length; i += 4)
            {
                pixels[i] = byte.MaxValue;
            }
        }

        return TestImages.Encode(bitmap, format, quality: 90);
    }

    private static PreprocessPipeline Pipeline(string section)
    {
        using var document = JsonDocument.Parse(section);
        Assert.True(PreprocessConfig.TryParse(document.RootElement, 8, out var config, out var problems), string.Join("; ", problems));
        return new PreprocessPipeline("test", config, 8);
    }

    private static FloatImage RandomImage(int width, int height, int seed)
    {
        var random = new Random(seed);
        var image = FloatImage.Create(width, height, 3);
        var pixels = image.Pixels;
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.Next(256);
        }

        return image;
    }

    private static FloatImage Copy(FloatImage image)
    {
        var copy = FloatImage.Create(image.Width, image.Height, image.Channels);
        image.Pixels.CopyTo(copy.Pixels);
        return copy;
    }
}
