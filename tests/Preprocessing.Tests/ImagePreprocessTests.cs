using System.Collections.Concurrent;
using System.Net;
using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>Images through the preprocessing service, then its output unchanged through inference, with the bundled digit model.</summary>
public sealed class ImagePreprocessTests(BundledServicesFixture fixture) : IClassFixture<BundledServicesFixture>
{
    [Fact]
    public async Task Preprocess_PngImage_ReturnsBinaryInferenceRequest()
    {
        var png = DigitImages.BlackOnWhite(HoldOutDigits.First(3));

        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/mnist", PreprocessHttp.Content(png, "image/png"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.Equal(headerLength + (28 * 28 * sizeof(float)), body.Length);

        using var header = System.Text.Json.JsonDocument.Parse(body.AsMemory(0, headerLength));
        Assert.True(header.RootElement.GetProperty("parameters").GetProperty("binary_data_output").GetBoolean());
        var input = Assert.Single(header.RootElement.GetProperty("inputs").EnumerateArray());
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([1L, 1, 28, 28], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
        Assert.Equal(28 * 28 * sizeof(float), input.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
    }

    [Fact]
    public async Task Preprocess_HeldOutDigitsAsBlackOnWhitePngs_AreAtLeast90PercentAccurate()
    {
        // Every other record: 500 digits, still about 50 of each class (the file is in seeded random order).
        var digits = HoldOutDigits.Load().Where((_, i) => i % 2 == 0).ToArray();
        var wrong = new ConcurrentBag<(int Label, int Predicted)>();
        await Parallel.ForEachAsync(digits, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (digit, _) =>
        {
            var preprocessed = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "mnist", DigitImages.BlackOnWhite(digit), "image/png");
            var (_, probabilities) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "mnist", preprocessed);
            var predicted = PreprocessHttp.ArgMax(probabilities);
            if (predicted != digit.Label)
            {
                wrong.Add((digit.Label, predicted));
            }
        });

        var accuracy = 1 - ((double)wrong.Count / digits.Length);
        Assert.True(digits.Length >= 500, $"the held-out sample has only {digits.Length} digits");
        Assert.True(accuracy >= 0.90, $"accuracy {accuracy:P1} over {digits.Length} digits; wrong (label, predicted): {string.Join(" ", wrong)}");
        Console.WriteLine($"held-out accuracy through preprocessing: {accuracy:P2} ({digits.Length - wrong.Count}/{digits.Length})");
    }

    [Theory]
    [InlineData(7)]
    [InlineData(4)]
    [InlineData(2)]
    public async Task Preprocess_LargePhotoOfADigitOnUnevenlyLitPaper_ClassifiesTheDigit(int label)
    {
        var photo = TestImages.PhotoOfDigit(HoldOutDigits.First(label));

        var preprocessed = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "mnist", photo, "image/jpeg");
        var (_, probabilities) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "mnist", preprocessed);

        Assert.True(label == PreprocessHttp.ArgMax(probabilities), $"a photo of a {label} was read as {PreprocessHttp.ArgMax(probabilities)}: [{string.Join(", ", probabilities.Select(p => p.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)))}]");
    }
}
