using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>
/// Models other than the digit classifier, expressed with the same steps: RGB with mean and std per
/// channel, NHWC with letterboxing, no batching, no preprocess section and a broken one.
/// </summary>
public sealed class GeneratedModelTests(GeneratedModelsFixture fixture) : IClassFixture<GeneratedModelsFixture>
{
    private const int Side = 224;

    [Fact]
    public async Task Preprocess_RgbImageForA224Model_ResizesAndNormalisesEachChannel()
    {
        // Left half orange, right half teal, 640x480: stretched to 224x224, the halves stay halves.
        var left = new SKColor(255, 128, 0);
        var right = new SKColor(0, 128, 160);
        var png = TestImages.Solid(640, 480, left, right);

        var preprocessed = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "rgb", png, "image/png");

        var (tensor, values, _) = preprocessed.ReadTensor();
        Assert.Equal("x", tensor.Name);
        Assert.Equal([1L, 3, Side, Side], tensor.Shape);
        for (var c = 0; c < 3; c++)
        {
            foreach (var (x, color) in new[] { (40, left), (180, right) })
            {
                var level = c switch { 0 => color.Red, 1 => color.Green, _ => color.Blue };
                var expected = ((level / 255f) - GeneratedModelsFixture.ImageNetMean[c]) / GeneratedModelsFixture.ImageNetStd[c];
                Assert.Equal(expected, values[(c * Side * Side) + (100 * Side) + x], 3);
            }
        }

        // The identity model hands back exactly what it was given, so the tensor went through inference intact.
        var (shape, output) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "rgb", preprocessed);
        Assert.Equal([1L, 3, Side, Side], shape);
        Assert.Equal(values, output);
    }

    [Theory]
    [InlineData("imagenet")]
    [InlineData("imagenet_bgr")]
    public async Task Preprocess_640x480JpegForAnImageNetClassifier_CropsTheCentreInTheModelsLayoutAndChannelOrder(string model)
    {
        // Red above, blue below, a green stripe at x 300..339 of 640: resized to 341x256 and cropped from x 58,
        // the stripe covers output x 102..122 and the red meets the blue at output row 112.
        using var bitmap = new SKBitmap(new SKImageInfo(640, 480, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(220, 30, 30));
            using var blue = new SKPaint { Color = new SKColor(30, 30, 220) };
            canvas.DrawRect(0, 240, 640, 240, blue);
            using var green = new SKPaint { Color = new SKColor(30, 220, 30) };
            canvas.DrawRect(300, 0, 40, 480, green);
        }

        var jpeg = TestImages.Encode(bitmap, SKEncodedImageFormat.Jpeg, 95);

        var preprocessed = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, model, jpeg, "image/jpeg");

        var (tensor, values, _) = preprocessed.ReadTensor();
        var planar = model == "imagenet";
        long[] expectedShape = planar ? [1, 3, Side, Side] : [1, Side, Side, 3];
        Assert.Equal(expectedShape, tensor.Shape);
        foreach (var (x, y, red, green, blue) in new[] { (20, 40, 220, 30, 30), (200, 180, 30, 30, 220), (112, 40, 30, 220, 30), (112, 180, 30, 220, 30) })
        {
            byte[] rgb = [(byte)red, (byte)green, (byte)blue];
            for (var c = 0; c < 3; c++)
            {
                var index = planar ? (c * Side * Side) + (y * Side) + x : (((y * Side) + x) * 3) + c;
                var level = ((values[index] * GeneratedModelsFixture.ImageNetStd[c]) + GeneratedModelsFixture.ImageNetMean[c]) * 255;
                var expected = rgb[planar ? c : 2 - c];
                Assert.True(Math.Abs(level - expected) <= 8, $"{model}: channel {c} at ({x}, {y}) is level {level:F1}, not about {expected}");
            }
        }

        var (shape, output) = await PreprocessHttp.InferAsync(fixture.Inference.Client, model, preprocessed);
        Assert.Equal(tensor.Shape, shape);
        Assert.Equal(values, output);
    }

    [Fact]
    public async Task Preprocess_SeveralRgbInstances_BatchUpToMaxBatchSize()
    {
        var images = new[]
        {
            TestImages.Solid(300, 200, SKColors.Red, format: SKEncodedImageFormat.Jpeg),
            TestImages.Solid(50, 90, SKColors.Lime, format: SKEncodedImageFormat.Webp),
            TestImages.Solid(224, 224, SKColors.Blue),
        };
        var instances = string.Join(",", images.Select(image => $$"""{"b64": "{{Convert.ToBase64String(image)}}"}"""));

        var preprocessed = await PreprocessHttp.PostJsonAsync(fixture.Preprocessing.Client, "rgb", $$"""{"instances": [{{instances}}]}""");

        var (tensor, values, _) = preprocessed.ReadTensor();
        Assert.Equal([3L, 3, Side, Side], tensor.Shape);
        var plane = Side * Side;
        for (var i = 0; i < 3; i++)
        {
            // Instance i is pure channel i: that plane is high, the others low.
            for (var c = 0; c < 3; c++)
            {
                var value = values[(((i * 3) + c) * plane) + (plane / 2)];
                Assert.True(c == i ? value > 1.5f : value < -1.5f, $"instance {i} channel {c} is {value}");
            }
        }

        var tooMany = string.Join(",", Enumerable.Repeat($$"""{"b64": "{{Convert.ToBase64String(images[2])}}"}""", 5));
        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/rgb", PreprocessHttp.Content(
            System.Text.Encoding.UTF8.GetBytes($$"""{"instances": [{{tooMany}}]}"""), "application/json"));
        await PreprocessHttp.AssertProblemAsync(response, 400, "instances:", "at most 4");
    }

    [Fact]
    public async Task Preprocess_NhwcModelWithContain_LetterboxesInterleavedChannels()
    {
        // 96x16 red: contained in 48x16 it becomes 48x8, centred between bands of fill.
        var png = TestImages.Solid(96, 16, SKColors.Red);

        var preprocessed = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "wide", png, "image/png");

        var (tensor, values, _) = preprocessed.ReadTensor();
        Assert.Equal([1L, 16, 48, 3], tensor.Shape);
        for (var y = 0; y < 16; y++)
        {
            var inside = y is >= 4 and < 12;
            var pixel = values.AsSpan(((y * 48) + 20) * 3, 3);
            Assert.Equal(inside ? [255f, 0f, 0f] : [0f, 0f, 0f], pixel.ToArray());
        }

        var (shape, output) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "wide", preprocessed);
        Assert.Equal([1L, 16, 48, 3], shape);
        Assert.Equal(values, output);
    }

    [Fact]
    public async Task Preprocess_NumericInstanceInHwcOrder_IsTakenForAnUnbatchedModel()
    {
        var rows = Enumerable.Range(0, 16).Select(y =>
            "[" + string.Join(",", Enumerable.Range(0, 48).Select(x => $"[{y},{x},{(y * 48) + x}]")) + "]");

        var preprocessed = await PreprocessHttp.PostJsonAsync(fixture.Preprocessing.Client, "wide", $$"""{"instances": [[{{string.Join(",", rows)}}]]}""");

        var (tensor, values, _) = preprocessed.ReadTensor();
        Assert.Equal([1L, 16, 48, 3], tensor.Shape);
        Assert.Equal([5f, 7f, (5 * 48) + 7], values.AsSpan(((5 * 48) + 7) * 3, 3).ToArray());
    }

    [Fact]
    public async Task Preprocess_SecondInstanceForAnUnbatchedModel_Answers400()
    {
        var image = Convert.ToBase64String(TestImages.Solid(48, 16, SKColors.Red));

        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/wide", PreprocessHttp.Content(
            System.Text.Encoding.UTF8.GetBytes($$"""{"instances": [{"b64": "{{image}}"}, {"b64": "{{image}}"}]}"""), "application/json"));

        await PreprocessHttp.AssertProblemAsync(response, 400, "instances:", "model 'wide' takes one per request");
    }

    [Fact]
    public async Task Preprocess_ModelWithoutPreprocessSection_Answers400NamingTheModel()
    {
        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/raw", PreprocessHttp.Content(TestImages.Solid(8, 8, SKColors.Red), "image/png"));

        await PreprocessHttp.AssertProblemAsync(response, 400, "model 'raw' has no preprocess section", "/v2/models/raw/infer");
    }

    [Fact]
    public async Task Preprocess_ModelWithBrokenPreprocessSection_Answers502ListingEveryProblem()
    {
        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/broken", PreprocessHttp.Content(TestImages.Solid(8, 8, SKColors.Red), "image/png"));

        await PreprocessHttp.AssertProblemAsync(
            response,
            502,
            "model 'broken'",
            "preprocess.layout: is 'NCWH'",
            "preprocess.steps[1].op: 'blur' is not a step",
            "preprocess.steps[2].sise: unknown field");
    }

    [Fact]
    public async Task Preprocess_ConfiguredLimits_AreTheOnesEnforced()
    {
        using var overBody = await fixture.Preprocessing.Client.PostAsync(
            "/v1/preprocess/rgb", PreprocessHttp.Content(new byte[GeneratedModelsFixture.BodyLimit + 1], "image/png"));
        await PreprocessHttp.AssertProblemAsync(overBody, 413, $"limit of {GeneratedModelsFixture.BodyLimit} bytes");

        // 1001x1000 is just over a 1,000,000-pixel limit, and small on the wire.
        using var overPixels = await fixture.Preprocessing.Client.PostAsync(
            "/v1/preprocess/rgb", PreprocessHttp.Content(DigitImages.PngHeader(1001, 1000), "image/png"));
        await PreprocessHttp.AssertProblemAsync(overPixels, 413, "1001x1000", "limit of 1,000,000 pixels");

        var atLimit = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "rgb", TestImages.Solid(1000, 1000, SKColors.Gray), "image/png");
        Assert.Equal(System.Net.HttpStatusCode.OK, atLimit.Status);
    }
}
