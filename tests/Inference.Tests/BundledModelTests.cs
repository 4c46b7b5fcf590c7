using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Protocol;
using MlPlatform.TestSupport;

namespace MlPlatform.Inference.Tests;

/// <summary>The bundled digit model through the running service, as a client of KServe or Triton would use it.</summary>
public sealed class BundledModelTests(BundledModelsFixture fixture) : IClassFixture<BundledModelsFixture>
{
    private const int Pixels = 28 * 28;

    private const string RequestCount = "http_server_request_duration_seconds_count";

    private const string InferRoute = "http_route=\"/v2/models/{model}/infer\"";

    [Fact]
    public async Task ServerMetadata_Get_NamesServerAndBinaryExtension()
    {
        using var body = JsonDocument.Parse(await fixture.Client.GetStringAsync("/v2"));

        Assert.Equal("mlplatform", body.RootElement.GetProperty("name").GetString());
        Assert.Contains("binary_tensor_data", body.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2/models/mnist/ready")]
    [InlineData("/v2/models/mnist/versions/1/ready")]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task HealthEndpoints_AfterStart_Answer200(string path)
    {
        using var response = await fixture.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_AfterInferences_CountThemByModelAndStatus()
    {
        string[] mnist = [InferRoute, "model=\"mnist\"", "http_response_status_code=\"200\""];
        string[] unknown = [InferRoute, "model=\"unknown\"", "http_response_status_code=\"404\""];
        var before = await PrometheusMetrics.ReadAsync(fixture.Client, RequestCount, mnist);
        var unknownBefore = await PrometheusMetrics.ReadAsync(fixture.Client, RequestCount, unknown);

        await InferDigitAsync(new float[Pixels]);
        using (await fixture.Client.PostAsync("/v2/models/metrics-unknown-model/infer", new StringContent("{}", Encoding.UTF8, "application/json")))
        {
        }

        Assert.Equal(before + 1, await PrometheusMetrics.ReadUntilAsync(fixture.Client, before + 1, RequestCount, mnist));
        Assert.Equal(unknownBefore + 1, await PrometheusMetrics.ReadUntilAsync(fixture.Client, unknownBefore + 1, RequestCount, unknown));
        Assert.Equal(before + 1, await PrometheusMetrics.ReadAsync(fixture.Client, "http_server_request_duration_seconds_bucket", [.. mnist, "le=\"+Inf\""]));
        var text = await fixture.Client.GetStringAsync("/metrics");
        Assert.Contains("mlplatform_inference_compute_duration_seconds_bucket{", text);
        Assert.DoesNotContain("metrics-unknown-model", text);
    }

    [Fact]
    public async Task ModelMetadata_Get_ReportsShapesFromTheOnnxGraph()
    {
        using var body = JsonDocument.Parse(await fixture.Client.GetStringAsync("/v2/models/mnist"));
        var root = body.RootElement;

        Assert.Equal("mnist", root.GetProperty("name").GetString());
        Assert.Equal(["1"], root.GetProperty("versions").EnumerateArray().Select(v => v.GetString()!).ToArray());
        var input = Assert.Single(root.GetProperty("inputs").EnumerateArray());
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 1, 28, 28], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
        var output = Assert.Single(root.GetProperty("outputs").EnumerateArray());
        Assert.Equal("probabilities", output.GetProperty("name").GetString());
        Assert.Equal([-1L, 10], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
    }

    [Fact]
    public async Task ModelConfig_Get_ServesBatchingPipelineSectionsAndLabels()
    {
        using var body = JsonDocument.Parse(await fixture.Client.GetStringAsync("/v2/models/mnist/config"));
        var root = body.RootElement;

        Assert.Equal(64, root.GetProperty("max_batch_size").GetInt32());
        Assert.True(root.GetProperty("dynamic_batching").GetProperty("max_queue_size").GetInt32() > 0);
        Assert.Equal("input", root.GetProperty("preprocess").GetProperty("input").GetString());
        Assert.Equal("probabilities", root.GetProperty("postprocess").GetProperty("output").GetString());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString(CultureInfo.InvariantCulture)), root.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task Infer_JsonRequestWrittenFromTheSpec_ReturnsProbabilitiesAndEchoesId()
    {
        var digit = HoldOutDigits.Load()[0];
        // Written by hand from the spec's example, not with our codec: nested data, as the spec allows.
        var rows = Enumerable.Range(0, 28).Select(r =>
            "[" + string.Join(",", digit.Pixels.Skip(r * 28).Take(28).Select(p => p.ToString("0.###", CultureInfo.InvariantCulture))) + "]");
        var json = $$"""
            {
              "id": "request-42",
              "inputs": [
                { "name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [[[{{string.Join(",", rows)}}]]] }
              ],
              "outputs": [ { "name": "probabilities" } ]
            }
            """;

        var (response, body) = await ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/models/mnist/infer", json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = body.RootElement;
        Assert.Equal("request-42", root.GetProperty("id").GetString());
        Assert.Equal("mnist", root.GetProperty("model_name").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        var output = root.GetProperty("outputs")[0];
        Assert.Equal([1L, 10], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
        var probabilities = output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(1.0, probabilities.Sum(), 3);
        Assert.Equal(digit.Label, Array.IndexOf(probabilities, probabilities.Max()));
    }

    [Fact]
    public async Task Infer_BinaryRequestWrittenFromTheSpec_ReturnsBinaryOutput()
    {
        var digit = HoldOutDigits.Load()[1];
        var header = Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":3136}}],"outputs":[{"name":"probabilities","parameters":{"binary_data":true}}]}""");
        var body = new byte[header.Length + (Pixels * 4)];
        header.CopyTo(body, 0);
        for (var i = 0; i < Pixels; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(header.Length + (i * 4)), digit.Pixels[i]);
        }

        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        using var response = await fixture.Client.PostAsync("/v2/models/mnist/infer", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        using var json = JsonDocument.Parse(bytes.AsMemory(0, headerLength));
        var output = json.RootElement.GetProperty("outputs")[0];
        Assert.Equal(40, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(output.TryGetProperty("data", out _));
        var probabilities = new float[10];
        for (var i = 0; i < 10; i++)
        {
            probabilities[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength + (i * 4)));
        }

        Assert.Equal(bytes.Length, headerLength + 40);
        Assert.Equal(digit.Label, Array.IndexOf(probabilities, probabilities.Max()));
    }

    [Fact]
    public async Task Infer_HeldOutSample_IsAtLeast95PercentAccurate()
    {
        var digits = HoldOutDigits.Load();
        var correct = 0;
        const int BatchSize = 50;
        for (var start = 0; start < digits.Count; start += BatchSize)
        {
            var batch = digits.Skip(start).Take(BatchSize).ToArray();
            var pixels = batch.SelectMany(d => d.Pixels).ToArray();
            using var request = new InferenceRequest
            {
                Inputs = [ProtocolHttp.Tensor("input", TensorDataType.Fp32, [batch.Length, 1, 28, 28], pixels)],
                Parameters = new Dictionary<string, JsonElement> { ["binary_data_output"] = JsonDocument.Parse("true").RootElement },
            };

            using var response = await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/mnist/infer", request, binary: true);
            var probabilities = ProtocolHttp.Floats(ProtocolHttp.Output(response, "probabilities"));
            for (var i = 0; i < batch.Length; i++)
            {
                correct += ArgMax(probabilities.AsSpan(i * 10, 10)) == batch[i].Label ? 1 : 0;
            }
        }

        var accuracy = (double)correct / digits.Count;
        Assert.True(digits.Count >= 500, $"the held-out sample has only {digits.Count} digits");
        Assert.True(accuracy >= 0.95, $"held-out accuracy {accuracy:P2} is under 95 %");
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private async Task InferDigitAsync(float[] pixels)
    {
        using var request = new InferenceRequest { Inputs = [ProtocolHttp.Tensor("input", TensorDataType.Fp32, [1, 1, 28, 28], pixels)] };
        using var response = await ProtocolHttp.InferAsync(fixture.Client, "/v2/models/mnist/infer", request, binary: false);
    }
}
