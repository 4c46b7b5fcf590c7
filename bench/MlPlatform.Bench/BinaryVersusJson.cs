using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using MlPlatform.OnnxWriter;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// V2 binary tensors against V2 JSON for one 1x3x224x224 FP32 image tensor through an identity
/// model, so the figure is the protocol's cost, not the model's.
/// </summary>
internal static class BinaryVersusJson
{
    public const string Id = "binary-vs-json";

    public static async Task RunAsync(BenchSettings settings)
    {
        var repository = Directory.CreateTempSubdirectory("mlplatform-bench-").FullName;
        try
        {
            WriteIdentityModel(repository);

            await using var service = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>(BenchApplication.QuietLogging())
            {
                ["Inference__ModelRepository"] = repository,
            });

            var (jsonBody, binaryBody, headerLength) = CreateBodies();
            HttpRequestMessage Json() => new(HttpMethod.Post, "/v2/models/identity/infer")
            {
                Content = new ByteArrayContent(jsonBody) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
            };
            HttpRequestMessage Binary()
            {
                var content = new ByteArrayContent(binaryBody) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } };
                content.Headers.Add(ProtocolParameters.HeaderContentLength, headerLength);
                return new HttpRequestMessage(HttpMethod.Post, "/v2/models/identity/infer") { Content = content };
            }

            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Concurrency })
            {
                BaseAddress = service.BaseAddress,
            };

            await LoadGenerator.RunAsync(client, Json, settings.Concurrency, settings.Warmup);
            await LoadGenerator.RunAsync(client, Binary, settings.Concurrency, settings.Warmup);

            // Interleaved rounds, so drift in the machine's speed falls on both sides.
            var json = new List<LoadResult>();
            var binary = new List<LoadResult>();
            for (var round = 0; round < settings.Rounds; round++)
            {
                json.Add(await LoadGenerator.RunAsync(client, Json, settings.Concurrency, settings.Duration));
                binary.Add(await LoadGenerator.RunAsync(client, Binary, settings.Concurrency, settings.Duration));
                Console.WriteLine($"round {round + 1}: JSON {json[^1]}; binary {binary[^1]}");
            }

            var jsonRate = json.Sum(r => r.Completed) / json.Sum(r => r.Elapsed.TotalSeconds);
            var binaryRate = binary.Sum(r => r.Completed) / binary.Sum(r => r.Elapsed.TotalSeconds);
            var ratio = binaryRate / jsonRate;
            Console.WriteLine($"binary/JSON = {ratio:F2}x (goal at least 3x)");

            var body = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"Input 1x3x224x224 FP32 (150,528 floats) through an identity model, response in the same encoding; {settings.Concurrency} concurrent clients, {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s each, inference service Release build.")
                .AppendLine()
                .AppendLine("| encoding | requests/s | p50 ms | p99 ms | body bytes |")
                .AppendLine("| --- | ---: | ---: | ---: | ---: |")
                .AppendLine(CultureInfo.InvariantCulture, $"| V2 JSON (reference) | {jsonRate:F1} | {json.Median(r => r.P50Milliseconds):F1} | {json.Median(r => r.P99Milliseconds):F1} | {jsonBody.Length:N0} |")
                .AppendLine(CultureInfo.InvariantCulture, $"| V2 binary | {binaryRate:F1} | {binary.Median(r => r.P50Milliseconds):F1} | {binary.Median(r => r.P99Milliseconds):F1} | {binaryBody.Length:N0} |")
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"**binary / JSON = {ratio:F2}x** (goal: at least 3x).")
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
            ResultsFile.WriteSection(Id, "V2 binary vs V2 JSON, 1x3x224x224 FP32", body.ToString());
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    /// <summary>Model <c>identity</c>: a 1x3x224x224 FP32 image back as it came, so a figure is the protocol's cost, not the model's.</summary>
    internal static void WriteIdentityModel(string repository)
    {
        var modelDirectory = Path.Combine(repository, "identity");
        Directory.CreateDirectory(modelDirectory);
        File.WriteAllText(Path.Combine(modelDirectory, "config.json"), """{"name":"identity","max_batch_size":0}""");
        new OnnxGraphBuilder("identity")
            .Input("image", OnnxElementType.Float, 1, 3, 224, 224)
            .Output("image_out", OnnxElementType.Float, 1, 3, 224, 224)
            .Node("Identity", ["image"], ["image_out"])
            .Save(Path.Combine(modelDirectory, "1", "model.onnx"));
    }

    private static (byte[] Json, byte[] Binary, string HeaderLength) CreateBodies()
    {
        // Pixel-like values with the digits a real normalised image has, not round numbers that print short.
        var random = new Random(7);
        var pixels = new float[3 * 224 * 224];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)((random.NextDouble() * 4) - 2);
        }

        var tensor = new InferenceTensor
        {
            Name = "image",
            DataType = TensorDataType.Fp32,
            Shape = [1, 3, 224, 224],
            Data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray(),
        };

        using var jsonWriter = new PooledBufferWriter();
        using (var request = new InferenceRequest { Inputs = [tensor] })
        {
            InferenceCodec.WriteRequest(jsonWriter, request, binaryInputs: false);
        }

        using var binaryWriter = new PooledBufferWriter();
        int? headerLength;
        using (var request = new InferenceRequest
        {
            Inputs = [tensor],
            Parameters = new Dictionary<string, System.Text.Json.JsonElement> { [ProtocolParameters.BinaryDataOutput] = System.Text.Json.JsonDocument.Parse("true").RootElement },
        })
        {
            headerLength = InferenceCodec.WriteRequest(binaryWriter, request, binaryInputs: true);
        }

        return (jsonWriter.WrittenSpan.ToArray(), binaryWriter.WrittenSpan.ToArray(), headerLength!.Value.ToString(CultureInfo.InvariantCulture));
    }
}
