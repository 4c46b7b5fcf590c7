using System.Net;
using System.Text;
using System.Text.Json;
using static MlPlatform.Postprocessing.Tests.PostprocessHttp;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>Every client mistake is a 4xx problem details answer that names it; never a 500, never a stack trace.</summary>
[Collection(ServicesCollection.Name)]
public sealed class BadInputTests(ServicesFixture fixture)
{
    private const string Logits = """{"model_name":"animals","outputs":[{"name":"logits","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""";

    public static TheoryData<string, string, HttpStatusCode, string[]> BadJsonBodies() => new()
    {
        { TestModels.Animals, """{"model_name": "animals", "outputs": [""", HttpStatusCode.BadRequest, ["JSON"] },
        { TestModels.Animals, "null", HttpStatusCode.BadRequest, ["expected a JSON object"] },
        { TestModels.Animals, """{"model_name": "animals"}""", HttpStatusCode.BadRequest, ["outputs", "required"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[1,4],"datatype":"FP32","data":[1,2,3]}]}""", HttpStatusCode.BadRequest, ["expected 4 elements"] },
        {
            TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"extra","shape":[1],"datatype":"FP32","data":[1]}]}""",
            HttpStatusCode.BadRequest, ["output 'logits'", "'features', 'extra'"]
        },
        { TestModels.Animals, """{"model_name":"animals","outputs":[]}""", HttpStatusCode.BadRequest, ["output 'logits'", "has no outputs"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[1,4],"datatype":"INT32","data":[1,2,3,4]}]}""", HttpStatusCode.BadRequest, ["INT32", "FP16, FP32 or FP64"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[1],"datatype":"BYTES","data":["cat"]}]}""", HttpStatusCode.BadRequest, ["BYTES"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[1,2,2],"datatype":"FP32","data":[1,2,3,4]}]}""", HttpStatusCode.BadRequest, ["[1, 2, 2]", "rank 3", "[batch, classes]"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[],"datatype":"FP32","data":[1]}]}""", HttpStatusCode.BadRequest, ["rank 0"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[3,0],"datatype":"FP32","data":[]}]}""", HttpStatusCode.BadRequest, ["[3, 0]", "no classes"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[2,2],"datatype":"FP32","data":[1,2,"NaN",4]}]}""", HttpStatusCode.BadRequest, ["NaN", "[1, 0]"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[1,3],"datatype":"FP32","data":[1,"Infinity",4]}]}""", HttpStatusCode.BadRequest, ["Infinity", "[0, 1]"] },
        { TestModels.Animals, """{"model_name":"animals","outputs":[{"name":"logits","shape":[2],"datatype":"FP32","data":["-Infinity","-Infinity"]}]}""", HttpStatusCode.BadRequest, ["no finite logit"] },
        { TestModels.HalfScores, """{"model_name":"half-scores","outputs":[{"name":"scores","shape":[1,3],"datatype":"FP16","data":[0.5,"-Infinity",0.25]}]}""", HttpStatusCode.BadRequest, ["-Infinity", "[0, 1]", "finite"] },
        { TestModels.DoubleLogits, """{"model_name":"double-logits","outputs":[{"name":"logits","shape":[3],"datatype":"FP64","data":[1,"NaN",2]}]}""", HttpStatusCode.BadRequest, ["NaN", "[1]"] },
        { "no-such-model", Logits, HttpStatusCode.NotFound, ["unknown model 'no-such-model'"] },
        { TestModels.Plain, Logits, HttpStatusCode.BadRequest, ["model 'plain'", "no 'postprocess' section"] },
        { TestModels.Broken, Logits, HttpStatusCode.BadRequest, ["model 'broken'", "postprocess.output", "postprocess.top_k", "postprocess.softmx"] },
    };

    [Theory]
    [MemberData(nameof(BadJsonBodies))]
    public async Task Postprocess_BadJsonBody_AnswersProblemNamingIt(string model, string body, HttpStatusCode status, string[] fragments)
    {
        using var response = await PostprocessJsonAsync(fixture.Postprocessing.Client, model, body);

        await AssertProblemAsync(response, status, fragments);
    }

    [Fact]
    public async Task Postprocess_EmptyBody_Answers400()
    {
        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Animals, new ForwardedResponse([], null, null));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ["body is empty"]);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("not a media type")]
    public async Task Postprocess_WrongContentType_Answers415(string contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Logits));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await fixture.Postprocessing.Client.PostAsync($"/v1/postprocess/{TestModels.Animals}", content);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, ["content type", "application/json", "application/octet-stream"]);
    }

    [Fact]
    public async Task Postprocess_JsonWithCharset_IsAccepted()
    {
        using var content = new StringContent(Logits, Encoding.UTF8, "application/json");

        using var response = await fixture.Postprocessing.Client.PostAsync($"/v1/postprocess/{TestModels.Animals}", content);

        Assert.Equal("émeu", Assert.Single(Predictions(await ReadPredictionsAsync(response))).Label);
    }

    [Theory]
    [InlineData("abc", "not a non-negative integer")]
    [InlineData("-5", "not a non-negative integer")]
    [InlineData("0", "positive")]
    [InlineData("100000", "larger than the body")]
    [InlineData("10", "JSON")]
    public async Task Postprocess_BadBinaryHeaderLength_Answers400(string headerLength, string fragment)
    {
        var forwarded = new ForwardedResponse(Encoding.UTF8.GetBytes(Logits), "application/octet-stream", headerLength);

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Animals, forwarded);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, [fragment]);
    }

    [Fact]
    public async Task Postprocess_BinaryDataShorterThanDeclared_Answers400()
    {
        var forwarded = Binary(
            """{"model_name":"animals","outputs":[{"name":"logits","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}]}""",
            new byte[8]);

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Animals, forwarded);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ["16 bytes", "past the end"]);
    }

    [Fact]
    public async Task Postprocess_BodyOverTheLimit_Answers413()
    {
        var body = new byte[ServicesFixture.BodyLimit + 1];
        Encoding.UTF8.GetBytes(Logits).CopyTo(body, 0);
        body.AsSpan(Logits.Length).Fill((byte)' ');

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Animals, new ForwardedResponse(body, "application/json", null));

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, ["larger than the limit of 65536 bytes", "MaxRequestBodyBytes"]);
    }

    [Fact]
    public async Task Postprocess_ChunkedBodyOverTheLimit_Answers413()
    {
        var body = new byte[ServicesFixture.BodyLimit * 2];
        body.AsSpan().Fill((byte)' ');
        using var content = new StreamContent(new NonSeekableStream(body));
        content.Headers.ContentType = new("application/json");

        using var response = await fixture.Postprocessing.Client.PostAsync($"/v1/postprocess/{TestModels.Animals}", content);

        Assert.Null(response.RequestMessage?.Content?.Headers.ContentLength);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, ["larger than the limit"]);
    }

    [Fact]
    public async Task Postprocess_UnknownRoute_AnswersProblem404()
    {
        using var response = await fixture.Postprocessing.Client.PostAsync("/v1/postprocess", new StringContent(Logits, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string[] fragments)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);

        using var problem = JsonDocument.Parse(text);
        var root = problem.RootElement;
        Assert.Equal((int)status, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()));
        Assert.Matches("^[0-9a-f]{32}$", root.GetProperty("traceId").GetString());
        var detail = root.GetProperty("detail").GetString()!;
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, detail);
        }

        Assert.DoesNotContain("Exception", text);
        Assert.DoesNotContain("   at ", text);
    }

    /// <summary>A stream with no length, so the client has to send the body chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
