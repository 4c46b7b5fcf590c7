using System.Globalization;
using System.Net;
using System.Text;
using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>KServe V1 bodies, <c>{"instances": [...]}</c>, and the other image formats, with the bundled digit model.</summary>
public sealed class InstancesTests(BundledServicesFixture fixture) : IClassFixture<BundledServicesFixture>
{
    [Fact]
    public async Task Preprocess_Base64Instance_GivesTheSameTensorAsTheRawImage()
    {
        var png = DigitImages.BlackOnWhite(HoldOutDigits.First(5));

        var raw = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "mnist", png, "image/png");
        var json = await PreprocessHttp.PostJsonAsync(fixture.Preprocessing.Client, "mnist", $$"""{"instances": [{"b64": "{{Convert.ToBase64String(png)}}"}]}""");
        var dataUrl = await PreprocessHttp.PostJsonAsync(fixture.Preprocessing.Client, "mnist", $$"""{"instances": [{"b64": "data:image/png;base64,{{Convert.ToBase64String(png)}}"}]}""");

        var expected = raw.ReadTensor().Values;
        Assert.Equal(expected, json.ReadTensor().Values);
        Assert.Equal(expected, dataUrl.ReadTensor().Values);
        Assert.Equal([1L, 1, 28, 28], json.ReadTensor().Tensor.Shape);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Preprocess_NumericInstance_PassesValuesThroughUnchanged(bool nested)
    {
        var digit = HoldOutDigits.First(6);

        var preprocessed = await PreprocessHttp.PostJsonAsync(fixture.Preprocessing.Client, "mnist", $$"""{"instances": [{{Numbers(digit, nested)}}]}""");

        var (tensor, values, _) = preprocessed.ReadTensor();
        Assert.Equal([1L, 1, 28, 28], tensor.Shape);
        Assert.Equal(digit.Pixels.Select(Rounded), values);
        var (_, probabilities) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "mnist", preprocessed);
        Assert.Equal(6, PreprocessHttp.ArgMax(probabilities));
    }

    [Fact]
    public async Task Preprocess_SeveralInstancesOfEachKind_BecomeOneBatchInOrder()
    {
        var digits = new[] { HoldOutDigits.First(0), HoldOutDigits.First(1), HoldOutDigits.First(8), HoldOutDigits.First(9) };
        var json = $$"""
            {
              "signature_name": "serving_default",
              "instances": [
                {"b64": "{{Convert.ToBase64String(DigitImages.BlackOnWhite(digits[0]))}}"},
                {{Numbers(digits[1], nested: true)}},
                {"b64": "{{Convert.ToBase64String(DigitImages.BlackOnWhite(digits[2], 120, SKEncodedImageFormat.Jpeg))}}"},
                {{Numbers(digits[3], nested: false)}}
              ]
            }
            """;

        var preprocessed = await PreprocessHttp.PostJsonAsync(fixture.Preprocessing.Client, "mnist", json);
        var (shape, probabilities) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "mnist", preprocessed);

        Assert.Equal([4L, 1, 28, 28], preprocessed.ReadTensor().Tensor.Shape);
        Assert.Equal([4L, 10], shape);
        Assert.Equal([0, 1, 8, 9], Enumerable.Range(0, 4).Select(i => PreprocessHttp.ArgMax(probabilities.AsSpan(i * 10, 10))));
    }

    [Fact]
    public async Task Preprocess_AsManyInstancesAsMaxBatchSize_IsAccepted()
    {
        var instance = Numbers(HoldOutDigits.First(2), nested: false);
        var json = $$"""{"instances": [{{string.Join(",", Enumerable.Repeat(instance, 64))}}]}""";

        var preprocessed = await PreprocessHttp.PostJsonAsync(fixture.Preprocessing.Client, "mnist", json);

        Assert.Equal([64L, 1, 28, 28], preprocessed.ReadTensor().Tensor.Shape);
    }

    [Theory]
    [InlineData("image/jpeg", 4)]
    [InlineData("image/webp", 3)]
    [InlineData("image/bmp", 7)]
    [InlineData("image/png; charset=binary", 1)]
    public async Task Preprocess_EveryAcceptedImageFormat_ClassifiesTheDigit(string contentType, int label)
    {
        var digit = HoldOutDigits.First(label);
        var image = contentType switch
        {
            "image/jpeg" => DigitImages.BlackOnWhite(digit, 200, SKEncodedImageFormat.Jpeg),
            "image/webp" => DigitImages.BlackOnWhite(digit, 200, SKEncodedImageFormat.Webp),
            "image/bmp" => TestImages.Bmp(digit),
            _ => DigitImages.BlackOnWhite(digit, 56),
        };

        var preprocessed = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "mnist", image, contentType);
        var (_, probabilities) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "mnist", preprocessed);

        Assert.Equal(label, PreprocessHttp.ArgMax(probabilities));
    }

    [Fact]
    public async Task Preprocess_WhiteDigitOnBlack_IsNotInverted()
    {
        // Already as MNIST is: light ink on a dark background, which "invert when light_background" leaves alone.
        var digit = HoldOutDigits.First(3);
        using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)Math.Round(255 * digit.Pixels[i]);
        }

        var preprocessed = await PreprocessHttp.PostAsync(fixture.Preprocessing.Client, "mnist", TestImages.Encode(bitmap, SKEncodedImageFormat.Png), "image/png");
        var (_, probabilities) = await PreprocessHttp.InferAsync(fixture.Inference.Client, "mnist", preprocessed);

        Assert.Equal(3, PreprocessHttp.ArgMax(probabilities));
    }

    [Fact]
    public async Task Metrics_AfterRequests_CountThemByModelAndStatus()
    {
        const string Count = "http_server_request_duration_seconds_count";
        string[] success = ["model=\"mnist\"", "http_response_status_code=\"200\""];
        string[] badRequest = ["model=\"mnist\"", "http_response_status_code=\"400\""];
        var client = fixture.Preprocessing.Client;
        var successBefore = await PrometheusMetrics.ReadAsync(client, Count, success);
        var badRequestBefore = await PrometheusMetrics.ReadAsync(client, Count, badRequest);

        await PreprocessHttp.PostAsync(client, "mnist", DigitImages.BlackOnWhite(HoldOutDigits.First(1)), "image/png");
        await PreprocessHttp.PostAsync(client, "mnist", Encoding.UTF8.GetBytes("not an image"), "image/png");

        Assert.Equal(successBefore + 1, await PrometheusMetrics.ReadUntilAsync(client, successBefore + 1, Count, success));
        Assert.Equal(badRequestBefore + 1, await PrometheusMetrics.ReadUntilAsync(client, badRequestBefore + 1, Count, badRequest));
        Assert.Equal(successBefore + 1, await PrometheusMetrics.ReadAsync(client, "http_server_request_duration_seconds_bucket", [.. success, "le=\"+Inf\""]));
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task HealthEndpoints_AfterStart_Answer200(string path)
    {
        using var response = await fixture.Preprocessing.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string Numbers(HoldOutDigit digit, bool nested)
    {
        var values = digit.Pixels.Select(p => Rounded(p).ToString("R", CultureInfo.InvariantCulture)).ToArray();
        if (!nested)
        {
            return $"[{string.Join(",", values)}]";
        }

        var rows = Enumerable.Range(0, 28).Select(r => $"[{string.Join(",", values.Skip(r * 28).Take(28))}]");
        return $"[[{string.Join(",", rows)}]]";
    }

    private static float Rounded(float value) => MathF.Round(value, 4);
}
