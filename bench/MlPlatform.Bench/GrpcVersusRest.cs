using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using Grpc.Net.Client;
using MlPlatform.Inference.Grpc.Protos;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// P9: the Open Inference Protocol over gRPC with raw contents against REST with binary tensors, one inference
/// service answering both, for a 1x3x224x224 FP32 tensor through an identity model (the protocol's cost) and for
/// single mnist items (a real model's).
/// </summary>
internal static class GrpcVersusRest
{
    public const string Id = "grpc-vs-rest";

    public static async Task RunAsync(BenchSettings settings)
    {
        var repository = Directory.CreateTempSubdirectory("mlplatform-bench-").FullName;
        try
        {
            BinaryVersusJson.WriteIdentityModel(repository);
            Folders.Copy(RepositoryPaths.InRoot("models", "mnist"), Path.Combine(repository, "mnist"));

            var grpcPort = LoopbackPort.Free();
            await using var service = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>(BenchApplication.QuietLogging())
            {
                ["Inference__ModelRepository"] = repository,
                ["Inference__GrpcPort"] = grpcPort.ToString(CultureInfo.InvariantCulture),
            });
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Concurrency }) { BaseAddress = service.BaseAddress };
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
            var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
            // As REST's clients each have a connection of their own: the same calls, one HTTP/2 connection per client.
            var channels = Enumerable.Range(0, settings.Concurrency)
                .Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null }))
                .ToArray();
            var perClient = channels.Select(c => new GRPCInferenceService.GRPCInferenceServiceClient(c)).ToArray();
            var turn = 0;
            GRPCInferenceService.GRPCInferenceServiceClient Own() => perClient[(int)((uint)Interlocked.Increment(ref turn) % (uint)perClient.Length)];

            var random = new Random(7);
            var pixels = new float[3 * 224 * 224];
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = (float)((random.NextDouble() * 4) - 2);
            }

            var image = V2Binary.Request("image", [1, 3, 224, 224], pixels);
            var imageMessage = RawRequest("identity", "image", [1, 3, 224, 224], pixels);
            var digits = HoldOutDigits.Load().Take(64).ToArray();
            var digitBodies = digits.Select(d => V2Binary.Request("input", [1, 1, 28, 28], d.Pixels)).ToArray();
            var digitMessages = digits.Select(d => RawRequest("mnist", "input", [1, 1, 28, 28], d.Pixels)).ToArray();
            var next = 0;
            int Next() => (int)((uint)Interlocked.Increment(ref next) % (uint)digits.Length);

            var rows = new StringBuilder();
            foreach (var (name, rest, call, callOwn) in new (string, Func<HttpRequestMessage>, Func<Task<bool>>, Func<Task<bool>>)[]
            {
                ("1x3x224x224 FP32 (150,528 floats), identity model", () => V2Binary.Infer("identity", image), () => CallAsync(grpc, imageMessage), () => CallAsync(Own(), imageMessage)),
                ("single mnist item, 1x1x28x28", () => V2Binary.Infer("mnist", digitBodies[Next()]), () => CallAsync(grpc, digitMessages[Next()]), () => CallAsync(Own(), digitMessages[Next()])),
            })
            {
                await LoadGenerator.RunAsync(http, rest, settings.Concurrency, settings.Warmup);
                await LoadGenerator.RunCallsAsync(call, settings.Concurrency, settings.Warmup);
                await LoadGenerator.RunCallsAsync(callOwn, settings.Concurrency, settings.Warmup);

                // Interleaved rounds, so drift in the machine's speed falls on every side.
                var restRounds = new List<LoadResult>();
                var grpcRounds = new List<LoadResult>();
                var ownRounds = new List<LoadResult>();
                for (var round = 0; round < settings.Rounds; round++)
                {
                    restRounds.Add(await LoadGenerator.RunAsync(http, rest, settings.Concurrency, settings.Duration));
                    grpcRounds.Add(await LoadGenerator.RunCallsAsync(call, settings.Concurrency, settings.Duration));
                    ownRounds.Add(await LoadGenerator.RunCallsAsync(callOwn, settings.Concurrency, settings.Duration));
                    Console.WriteLine($"{name}, round {round + 1}: REST {restRounds[^1]}; gRPC {grpcRounds[^1]}; gRPC a channel per client {ownRounds[^1]}");
                }

                var restRate = Rate(restRounds);
                var restP50 = restRounds.Median(r => r.P50Milliseconds);
                rows.AppendLine(CultureInfo.InvariantCulture,
                    $"| {name} | {restRate:F1} | {Rate(grpcRounds):F1} | **{Rate(grpcRounds) / restRate:F2}x** | {Rate(ownRounds):F1} | **{Rate(ownRounds) / restRate:F2}x** | {restP50:F2} | {grpcRounds.Median(r => r.P50Milliseconds):F2} | **{grpcRounds.Median(r => r.P50Milliseconds) / restP50:F2}x** | {restRounds.Sum(r => r.Failed) + grpcRounds.Sum(r => r.Failed) + ownRounds.Sum(r => r.Failed)} |");
            }

            foreach (var own in channels)
            {
                own.Dispose();
            }

            var body = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"One inference service (Release) answers both: REST `POST /v2/models/{{m}}/infer` with binary tensors in and out, and gRPC `ModelInfer` with `raw_input_contents` and `raw_output_contents` (HTTP/2 cleartext), first over one channel, as a client such as tritonclient holds one, then over a channel per client, as REST's clients each hold a connection. {settings.Concurrency} concurrent clients in a closed loop, {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s per side; REST binary is the reference.")
                .AppendLine()
                .AppendLine("| request | REST binary req/s (reference) | gRPC raw req/s, one channel | gRPC / REST | gRPC req/s, a channel per client | that / REST | REST p50 ms | gRPC p50 ms, one channel | gRPC / REST p50 | failed |")
                .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
                .Append(rows)
                .AppendLine()
                .AppendLine("The mnist rows are bound by the model's own batching: its config waits up to 2 ms for a preferred batch of 8 that 4 clients never fill, so each request waits that long on either protocol. The image row is the protocols' cost.")
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
            ResultsFile.WriteSection(Id, "P9: gRPC raw vs REST binary", body.ToString());
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    private static double Rate(List<LoadResult> rounds) => rounds.Sum(r => r.Completed) / rounds.Sum(r => r.Elapsed.TotalSeconds);

    private static async Task<bool> CallAsync(GRPCInferenceService.GRPCInferenceServiceClient client, ModelInferRequest request)
    {
        try
        {
            var response = await client.ModelInferAsync(request);
            return response.RawOutputContents.Count > 0;
        }
        catch (Grpc.Core.RpcException)
        {
            return false;
        }
    }

    private static ModelInferRequest RawRequest(string model, string input, long[] shape, ReadOnlySpan<float> data)
    {
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = "FP32" };
        tensor.Shape.Add(shape);
        var request = new ModelInferRequest { ModelName = model };
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(data)));
        return request;
    }
}
