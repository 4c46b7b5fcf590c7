using MlPlatform.TestSupport;
using System.Text;
using System.Text.Json;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>Everything a client can get wrong: each a 4xx RFC 9457 answer naming the problem, never a 500 or a stack trace.</summary>
public sealed class BadInputTests(BundledServicesFixture fixture) : IClassFixture<BundledServicesFixture>
{
    /// <summary>Case name, status, and fragments the detail must contain.</summary>
    public static TheoryData<string, int, string[]> Cases() => new()
    {
        { "text as image/png", 400, ["not a PNG, JPEG, WebP or BMP image"] },
        { "truncated PNG", 400, ["PNG image is truncated"] },
        { "20000x20000 PNG header", 413, ["20000x20000", "400,000,000 pixels", "limit of 40,000,000 pixels"] },
        { "GIF", 415, ["GIF", "PNG, JPEG, WebP or BMP"] },
        { "empty image body", 400, ["body is empty"] },
        { "empty JSON body", 400, ["body is empty"] },
        { "text/plain", 415, ["'text/plain'", "image/png, image/jpeg, image/webp, image/bmp or application/json"] },
        { "no content type", 415, ["no Content-Type", "image/png, image/jpeg, image/webp, image/bmp or application/json"] },
        { "JSON array", 400, ["not an object", "instances"] },
        { "JSON without instances", 400, ["no \"instances\" array"] },
        { "instances not an array", 400, ["instances: is a string"] },
        { "invalid JSON", 400, ["not valid JSON"] },
        { "empty instances", 400, ["instances: is empty"] },
        { "b64 not base64", 400, ["instances[1].b64:", "not valid base64"] },
        { "b64 not an image", 400, ["instances[0].b64:", "not a PNG, JPEG, WebP or BMP image"] },
        { "b64 huge header", 413, ["instances[0].b64:", "20000x20000"] },
        { "b64 not a string", 400, ["instances[0].b64:", "is a number"] },
        { "object instance without b64", 400, ["instances[0]:", "has the field 'image'"] },
        { "instance of the wrong shape", 400, ["instances[1]:", "shape [28, 28]", "[1, 28, 28]", "784 numbers flat"] },
        { "instance with too few numbers", 400, ["instances[0]:", "shape [3] (3 numbers)"] },
        { "ragged instance", 400, ["instances[0]:", "uneven length"] },
        { "instance with a string", 400, ["instances[0]:", "a string where a number belongs"] },
        { "instance with null", 400, ["instances[0]:", "null where a number belongs"] },
        { "instance that is a string", 400, ["instances[0]:", "is a string"] },
        { "number beyond float", 400, ["instances[0]:", "does not fit a 32-bit float"] },
        { "too many instances", 400, ["instances:", "more than 64", "at most 64"] },
        // Found by the reliability fuzz run: an escape that is no text (a lone surrogate) made the JSON reader throw, a 500.
        { "lone surrogate in a property name", 400, ["JSON body has a property name", "unpaired surrogate"] },
        { "lone surrogate in an instance's property name", 400, ["instances[0]:", "property name", "unpaired surrogate"] },
        { "lone surrogate in b64", 400, ["instances[0].b64:", "unpaired surrogate"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Preprocess_BadInput_AnswersProblemDetailsNamingTheProblem(string name, int status, string[] fragments)
    {
        var (body, contentType) = Body(name);

        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/mnist", PreprocessHttp.Content(body, contentType));

        var problem = await PreprocessHttp.AssertProblemAsync(response, status, fragments);
        if (status == 400 && fragments[0].StartsWith("instances", StringComparison.Ordinal))
        {
            // Field errors also come as a validation problem's "errors", keyed by the field.
            var field = fragments[0][..fragments[0].IndexOf(':', StringComparison.Ordinal)];
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no errors.{field} in {problem}");
        }
    }

    [Fact]
    public async Task Preprocess_UnknownModel_Answers404()
    {
        using var response = await fixture.Preprocessing.Client.PostAsync(
            "/v1/preprocess/nosuch", PreprocessHttp.Content(DigitImages.BlackOnWhite(HoldOutDigits.First(1)), "image/png"));

        await PreprocessHttp.AssertProblemAsync(response, 404, "unknown model 'nosuch'");
    }

    [Fact]
    public async Task Preprocess_BodyOverTheDefaultLimit_Answers413()
    {
        var body = new byte[(8 * 1024 * 1024) + 1];
        DigitImages.BlackOnWhite(HoldOutDigits.First(1)).CopyTo(body, 0);

        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/mnist", PreprocessHttp.Content(body, "image/png"));

        await PreprocessHttp.AssertProblemAsync(response, 413, "larger than the limit of 8388608 bytes");
    }

    [Fact]
    public async Task Preprocess_HugeImageHeader_IsRefusedWithoutDecoding()
    {
        // Decoding 20000x20000 RGBA would take 1.6 GB and seconds; a refusal from the header takes neither.
        string[] tooLarge = ["model=\"mnist\"", "http_response_status_code=\"413\""];
        var before = await PrometheusMetrics.ReadAsync(fixture.Preprocessing.Client, "http_server_request_duration_seconds_count", tooLarge);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var response = await fixture.Preprocessing.Client.PostAsync("/v1/preprocess/mnist", PreprocessHttp.Content(DigitImages.PngHeader(20_000, 20_000), "image/png"));

        await PreprocessHttp.AssertProblemAsync(response, 413, "20000x20000");
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(2));
        Assert.Equal(before + 1, await PrometheusMetrics.ReadUntilAsync(fixture.Preprocessing.Client, before + 1, "http_server_request_duration_seconds_count", tooLarge));
    }

    private static (byte[] Body, string? ContentType) Body(string name)
    {
        var digit = DigitImages.BlackOnWhite(HoldOutDigits.First(1));
        var digitB64 = Convert.ToBase64String(digit);
        var flat = $"[{string.Join(",", Enumerable.Repeat("0", 784))}]";
        return name switch
        {
            "text as image/png" => (Encoding.UTF8.GetBytes("this is text, not an image"), "image/png"),
            "truncated PNG" => (digit[..(digit.Length * 2 / 3)], "image/png"),
            "20000x20000 PNG header" => (DigitImages.PngHeader(20_000, 20_000), "image/png"),
            "GIF" => (Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), "image/png"),
            "empty image body" => ([], "image/png"),
            "empty JSON body" => ([], "application/json"),
            "text/plain" => (digit, "text/plain"),
            "no content type" => (digit, null),
            "JSON array" => (Json("[1, 2, 3]"), "application/json"),
            "JSON without instances" => (Json("""{"inputs": [1]}"""), "application/json"),
            "instances not an array" => (Json("""{"instances": "all"}"""), "application/json"),
            "invalid JSON" => (Encoding.UTF8.GetBytes("""{"instances" [[1, 2]]}"""), "application/json"),
            "empty instances" => (Json("""{"instances": []}"""), "application/json"),
            "b64 not base64" => (Json($$"""{"instances": [{"b64": "{{digitB64}}"}, {"b64": "%%% not base64 %%%"}]}"""), "application/json"),
            "b64 not an image" => (Json($$"""{"instances": [{"b64": "{{Convert.ToBase64String(Encoding.UTF8.GetBytes("hello"))}}"}]}"""), "application/json"),
            "b64 huge header" => (Json($$"""{"instances": [{"b64": "{{Convert.ToBase64String(DigitImages.PngHeader(20_000, 20_000))}}"}]}"""), "application/json"),
            "b64 not a string" => (Json("""{"instances": [{"b64": 12}]}"""), "application/json"),
            "object instance without b64" => (Json("""{"instances": [{"image": "abc"}]}"""), "application/json"),
            "instance of the wrong shape" => (Json($$"""{"instances": [{{flat}}, [{{string.Join(",", Enumerable.Repeat($"[{string.Join(",", Enumerable.Repeat("0", 28))}]", 28))}}]]}"""), "application/json"),
            "instance with too few numbers" => (Json("""{"instances": [[1, 2, 3]]}"""), "application/json"),
            "ragged instance" => (Json("""{"instances": [[[1, 2], [3]]]}"""), "application/json"),
            "instance with a string" => (Json("""{"instances": [[1, "2", 3]]}"""), "application/json"),
            "instance with null" => (Json("""{"instances": [[1, null]]}"""), "application/json"),
            "instance that is a string" => (Json($$"""{"instances": ["{{digitB64}}"]}"""), "application/json"),
            "number beyond float" => (Json("""{"instances": [[1e300]]}"""), "application/json"),
            "lone surrogate in a property name" => (Json("""{"\ud800instances": [[1]]}"""), "application/json"),
            "lone surrogate in an instance's property name" => (Json("""{"instances": [{"\ud800b64xxxx": "AAAA"}]}"""), "application/json"),
            "lone surrogate in b64" => (Json("""{"instances": [{"b64": "\ud800AAAA"}]}"""), "application/json"),
            "too many instances" => (Json($$"""{"instances": [{{string.Join(",", Enumerable.Repeat(flat, 65))}}]}"""), "application/json"),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such case"),
        };
    }

    private static byte[] Json(string json)
    {
        // Valid JSON, so each case fails for the reason its name gives and not for a typo.
        using var _ = JsonDocument.Parse(json);
        return Encoding.UTF8.GetBytes(json);
    }
}
