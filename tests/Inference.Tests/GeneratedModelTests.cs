using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Protocol;
using MlPlatform.TestSupport;

namespace MlPlatform.Inference.Tests;

/// <summary>Models the server has never seen, dropped into a repository, served with no code change.</summary>
public sealed class GeneratedModelTests(GeneratedModelsFixture fixture) : IClassFixture<GeneratedModelsFixture>
{
    [Fact]
    public async Task ModelMetadata_TwoInputsWithDynamicDimensions_ReportsMinusOne()
    {
        using var body = JsonDocument.Parse(await fixture.Client.GetStringAsync("/v2/models/pair"));

        var inputs = body.RootElement.GetProperty("inputs").EnumerateArray().ToArray();
        Assert.Equal(["a", "b"], inputs.Select(i => i.GetProperty("name").GetString()!).ToArray());
        Assert.All(inputs, input => Assert.Equal([-1L, -1], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray()));
        Assert.Equal(["sum", "product"], body.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()!).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Infer_TwoInputs_ComputesEveryOutput(bool binary)
    {
        using var request = new InferenceRequest
        {
            Id = "pair-1",
            Inputs =
            [
                ProtocolHttp.Tensor("a", TensorDataType.Fp32, [2, 3], 1f, 2, 3, 4, 5, 6),
                ProtocolHttp.Tensor("b", TensorDataType.Fp32, [2, 3], 10f, 20, 30, 40, 50, 60),
            ],
        };

        using var response = await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/pair/infer", request, binary);

        Assert.Equal("pair-1", response.Id);
        Assert.Equal([11f, 22, 33, 44, 55, 66], ProtocolHttp.Floats(ProtocolHttp.Output(response, "sum")));
        Assert.Equal([10f, 40, 90, 160, 250, 360], ProtocolHttp.Floats(ProtocolHttp.Output(response, "product")));
        Assert.Equal([2L, 3], ProtocolHttp.Output(response, "sum").Shape);
    }

    [Fact]
    public async Task Infer_OutputsSelectionAndParameters_ReturnsOnlyTheAskedOutputAndKeepsParameters()
    {
        const string Json = """
            {
              "parameters": { "priority": 3, "tag": "nightly" },
              "inputs": [
                { "name": "a", "shape": [1, 2], "datatype": "FP32", "data": [[1, 2]] },
                { "name": "b", "shape": [1, 2], "datatype": "FP32", "data": [3, 4] }
              ],
              "outputs": [ { "name": "product" } ]
            }
            """;

        var (response, body) = await ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/models/pair/infer", Json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = Assert.Single(body.RootElement.GetProperty("outputs").EnumerateArray());
        Assert.Equal("product", output.GetProperty("name").GetString());
        Assert.Equal([3f, 8], output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());
        Assert.Equal("nightly", body.RootElement.GetProperty("parameters").GetProperty("tag").GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Infer_Int64ScalarFp16AndStrings_RoundTrip(bool binary)
    {
        var words = new[] { "héllo", "", "tensors" };
        var bytes = new List<byte>();
        foreach (var word in words)
        {
            var utf8 = Encoding.UTF8.GetBytes(word);
            bytes.AddRange(BitConverter.GetBytes((uint)utf8.Length));
            bytes.AddRange(utf8);
        }

        using var request = new InferenceRequest
        {
            Inputs =
            [
                ProtocolHttp.Tensor("count", TensorDataType.Int64, [], 9_000_000_000L),
                ProtocolHttp.Tensor("half", TensorDataType.Fp16, [3], (Half)1.5f, (Half)(-2f), (Half)0.25f),
                new InferenceTensor { Name = "text", DataType = TensorDataType.Bytes, Shape = [3], Data = bytes.ToArray() },
            ],
            Parameters = new Dictionary<string, JsonElement> { ["binary_data_output"] = JsonDocument.Parse(binary ? "true" : "false").RootElement },
        };

        using var response = await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/types/infer", request, binary);

        var count = ProtocolHttp.Output(response, "count_out");
        Assert.Empty(count.Shape);
        Assert.Equal(9_000_000_000L, BitConverter.ToInt64(count.Data.Span));
        Assert.Equal(TensorDataType.Fp16, ProtocolHttp.Output(response, "half_out").DataType);
        Assert.Equal([1.5f, -2f, 0.25f], ProtocolHttp.Floats(ProtocolHttp.Output(response, "half_as_float")));
        var text = ProtocolHttp.Output(response, "text_out");
        Assert.Equal(TensorDataType.Bytes, text.DataType);
        Assert.Equal(bytes.ToArray(), text.Data.ToArray());
    }

    [Fact]
    public async Task Infer_NoVersionInUrl_ServesTheHighestVersion()
    {
        using var latest = await InferOffsetAsync("/v2/models/offset/infer");
        using var first = await InferOffsetAsync("/v2/models/offset/versions/1/infer");

        Assert.Equal("2", latest.ModelVersion);
        Assert.Equal([12f, 22], ProtocolHttp.Floats(latest.Outputs[0]));
        Assert.Equal("1", first.ModelVersion);
        Assert.Equal([11f, 21], ProtocolHttp.Floats(first.Outputs[0]));
    }

    [Fact]
    public async Task ModelMetadata_SeveralVersions_ListsThemHighestFirst()
    {
        using var body = JsonDocument.Parse(await fixture.Client.GetStringAsync("/v2/models/offset"));

        Assert.Equal(["2", "1"], body.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetString()!).ToArray());
    }

    [Fact]
    public async Task Infer_ConcurrentRequestsToABatchedModel_RunAsOneExecutionAndSplitBack()
    {
        var before = await PrometheusMetrics.ReadAsync(fixture.Client, "mlplatform_inference_executions_total", "model=\"offset\"");

        // preferred_batch_size is 4 with a 2 s queue delay: four requests arriving together make one batch.
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i =>
        {
            using var request = new InferenceRequest
            {
                Id = i.ToString(CultureInfo.InvariantCulture),
                Inputs = [ProtocolHttp.Tensor("x", TensorDataType.Fp32, [1, 2], i * 100f, (i * 100f) + 1)],
            };
            return await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/offset/infer", request, binary: true);
        }));

        var after = await PrometheusMetrics.ReadAsync(fixture.Client, "mlplatform_inference_executions_total", "model=\"offset\"");
        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), responses[i].Id);
            Assert.Equal([(i * 100f) + 2, (i * 100f) + 3], ProtocolHttp.Floats(responses[i].Outputs[0]));
            Assert.Equal([1L, 2], responses[i].Outputs[0].Shape);
            responses[i].Dispose();
        }

        Assert.Equal(1, after - before);
    }

    [Fact]
    public async Task Infer_QueueFull_Answers503WithRetryAfterAndRecovers()
    {
        var zeros = new byte[256 * 256 * 4];
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs":[{"name":"x","shape":[1,256,256],"datatype":"FP32","parameters":{"binary_data_size":{{{zeros.Length}}}}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}""");
        var body = header.Concat(zeros).ToArray();

        async Task<HttpResponseMessage> SendAsync()
        {
            var content = new ByteArrayContent(body);
            content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
            return await fixture.Client.PostAsync("/v2/models/slow/infer", content);
        }

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => SendAsync()));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"unexpected {r.StatusCode}"));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToArray();
        Assert.NotEmpty(refused);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        foreach (var response in refused)
        {
            Assert.NotNull(response.Headers.RetryAfter);
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Contains("queue", error.RootElement.GetProperty("error").GetString());
        }

        using var afterwards = await SendAsync();
        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode);
    }

    public static TheoryData<string, string, string?, int, string> BadRequests() => new()
    {
        { "/v2/models/pair/infer", "{", null, 400, "" },
        { "/v2/models/pair/infer", "[1, 2]", null, 400, "" },
        { "/v2/models/pair/infer", "", null, 400, "" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"a","shape":[1,1],"datatype":"INT32","data":[1]},{"name":"b","shape":[1,1],"datatype":"FP32","data":[1]}]}""", null, 400, "datatype" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"a","shape":[1,1],"datatype":"FP99","data":[1]}]}""", null, 400, "FP99" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"a","shape":[2,2],"datatype":"FP32","data":[1,2,3]},{"name":"b","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]}]}""", null, 400, "inputs[0]" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"a","shape":[1,1],"datatype":"FP32","data":["x"]}]}""", null, 400, "inputs[0]" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"zz","shape":[1],"datatype":"FP32","data":[1]}]}""", null, 400, "unknown input 'zz'" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"a","shape":[1,1],"datatype":"FP32","data":[1]}]}""", null, 400, "input 'b'" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"a","shape":[1,1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1,1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"nope"}]}""", null, 400, "unknown output 'nope'" },
        { "/v2/models/pair/infer", """{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":"FP32","data":[1]}]}""", null, 400, "shape" },
        { "/v2/models/offset/infer", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", null, 400, "[-1, 2]" },
        { "/v2/models/offset/infer", """{"inputs":[{"name":"x","shape":[9,2],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9]}]}""", null, 400, "batch size 9" },
        { "/v2/models/offset/infer", """{"inputs":[{"name":"x","shape":[-1,2],"datatype":"FP32","data":[]}]}""", null, 400, "shape" },
        { "/v2/models/offset/infer", """{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""", "9999", 400, "Inference-Header-Content-Length" },
        { "/v2/models/offset/infer", """{"inputs":[]}""", "abc", 400, "Inference-Header-Content-Length" },
        { "/v2/models/nosuch/infer", """{"inputs":[]}""", null, 404, "unknown model 'nosuch'" },
        { "/v2/models/offset/versions/7/infer", """{"inputs":[]}""", null, 404, "unknown version '7'" },
        { "/v2/models/..%2F..%2Fetc/infer", """{"inputs":[]}""", null, 404, "unknown model" },
        { "/v2/models/nosuch", "", null, 404, "unknown model" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Infer_BadRequest_AnswersClientErrorNamingTheProblem(string path, string body, string? headerLength, int status, string fragment)
    {
        using var content = ProtocolHttp.Json(body);
        if (headerLength is not null)
        {
            content.Headers.Add("Inference-Header-Content-Length", headerLength);
        }

        using var response = path.EndsWith("/infer", StringComparison.Ordinal)
            ? await fixture.Client.PostAsync(path, content)
            : await fixture.Client.GetAsync(path);

        Assert.Equal(status, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var message = error.RootElement.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.Contains(fragment, message);
        Assert.DoesNotContain("   at ", message);
    }

    [Fact]
    public async Task Infer_BodyOverTheLimit_Answers413()
    {
        var huge = new string(' ', (int)GeneratedModelsFixture.BodyLimit + 10);

        // As curl does for large bodies: the server refuses before the body is sent, so the client
        // reads the 413 instead of meeting a connection closed mid-upload.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/pair/infer") { Content = ProtocolHttp.Json(huge) };
        request.Headers.ExpectContinue = true;
        using var response = await fixture.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("limit", error.RootElement.GetProperty("error").GetString());
    }

    private async Task<InferenceResponse> InferOffsetAsync(string path)
    {
        using var request = new InferenceRequest { Inputs = [ProtocolHttp.Tensor("x", TensorDataType.Fp32, [1, 2], 10f, 20f)] };
        return await ProtocolHttp.InferAsync(fixture.Client, path, request, binary: false);
    }
}
