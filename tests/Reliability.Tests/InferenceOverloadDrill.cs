using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using MlPlatform.Platform.Testing;
using MlPlatform.OnnxWriter;
using MlPlatform.Reliability.Tests.Support;
using MlPlatform.TestSupport;

namespace MlPlatform.Reliability.Tests;

/// <summary>
/// The application over a model repository of its own: the bundled mnist, and <c>slow</c>, a generated model that
/// takes a while per request and may queue only <see cref="QueueSize"/> (its config's
/// <c>dynamic_batching.max_queue_size</c>). One replica of each service, so the one inference process takes it all.
/// </summary>
public sealed class OverloadFixture : IAsyncLifetime
{
    public const int QueueSize = 2;
    public const int Side = 256;

    public string Repository { get; } = Directory.CreateTempSubdirectory("mlplatform-overload-").FullName;

    public RunningPlatform Platform { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Folders.Copy(RepositoryPaths.InRoot("models", "mnist"), Path.Combine(Repository, "mnist"));
        var slow = Path.Combine(Repository, "slow");
        Directory.CreateDirectory(slow);
        File.WriteAllText(Path.Combine(slow, "config.json"), $$"""
            {
              "name": "slow",
              "max_batch_size": 1,
              "dynamic_batching": { "max_queue_delay_microseconds": 0, "max_queue_size": {{QueueSize}} },
              "onnxruntime": { "intra_op_threads": 1, "inter_op_threads": 1 }
            }
            """);
        SlowGraph().Save(Path.Combine(slow, "1", "model.onnx"));

        Platform = await RunningPlatform.StartAsync(
            ["--AppHost:Replicas:preprocessing=1", "--AppHost:Replicas:inference=1", "--AppHost:Replicas:postprocessing=1", $"--AppHost:ModelRepository={Repository}"]);
    }

    /// <summary>Sixteen chained 256x256 matrix products per request on one thread: each run takes a noticeable while.</summary>
    private static OnnxGraphBuilder SlowGraph()
    {
        var graph = new OnnxGraphBuilder("slow")
            .Input("x", OnnxElementType.Float, -1, Side, Side)
            .Output("y", OnnxElementType.Float, -1, Side, Side);
        var previous = "x";
        for (var i = 0; i < 16; i++)
        {
            var next = i == 15 ? "y" : $"m{i}";
            graph.Node("MatMul", [previous, "x"], [next]);
            previous = next;
        }

        return graph;
    }

    public async Task DisposeAsync()
    {
        await Platform.DisposeAsync();
        Directory.Delete(Repository, recursive: true);
    }
}

/// <summary>
/// Drill 3: far more concurrent requests than the slow model's queue holds, in two waves, through the gateway.
/// The inference service refuses what it cannot queue with 503 and Retry-After (passed on by the gateway), answers
/// nothing else in the 5xx range, keeps its memory bounded (no growth from one wave to the next), keeps serving
/// its other model, and once the load drops serves every request again.
/// </summary>
public sealed class InferenceOverloadDrill(OverloadFixture fixture, ITestOutputHelper output) : IClassFixture<OverloadFixture>
{
    private const int Concurrency = 96;
    private const int RequestsPerWave = 480;

    // Generous: the service holds a model or two, pooled bodies and ONNX Runtime's arena, a few hundred MB at most.
    private const long MemoryCap = 600L * 1024 * 1024;
    private const long GrowthMargin = 100L * 1024 * 1024;

    private static readonly byte[] Header = Encoding.UTF8.GetBytes(
        $$$"""{"inputs":[{"name":"x","shape":[1,{{{OverloadFixture.Side}}},{{{OverloadFixture.Side}}}],"datatype":"FP32","parameters":{"binary_data_size":{{{OverloadFixture.Side * OverloadFixture.Side * 4}}}}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}""");

    private static readonly byte[] Body = CreateBody();

    [Fact]
    public async Task Overload_FarPastTheQueue_503WithRetryAfterOnly_MemoryBounded_AndEveryRequestSucceedsOnceLoadDrops()
    {
        var inference = fixture.Platform.Replicas("inference")[0];
        var processId = RunningPlatform.ServiceProcessId(inference) ?? throw new InvalidOperationException("inference is not running");
        using var gateway = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency }) { BaseAddress = fixture.Platform.ServiceUrl("gateway"), Timeout = TimeSpan.FromSeconds(100) };
        gateway.DefaultRequestHeaders.Add("apikey", RetryingGatewayClient.ApiKey);

        // The model works before the storm.
        Assert.Equal(200, (await InferAsync(gateway)).Status);
        var baseline = ReplicaProbe.ResidentBytes(processId);

        var first = await WaveAsync(gateway, processId);
        var second = await WaveAsync(gateway, processId);

        // Load drops: one request at a time, each succeeds; the other model predicts as well.
        var afterwards = new List<int>();
        for (var i = 0; i < 10; i++)
        {
            afterwards.Add((await InferAsync(gateway)).Status);
        }

        var predictAfter = await PredictAsync(gateway);

        output.WriteLine($"inference pid {processId}: VmRSS {Mb(baseline)} before, peak {Mb(first.PeakResident)} in wave 1, peak {Mb(second.PeakResident)} in wave 2, {Mb(ReplicaProbe.ResidentBytes(processId))} after (cap {Mb(MemoryCap)}, growth margin {Mb(GrowthMargin)})");
        foreach (var (wave, name) in new[] { (first, "wave 1"), (second, "wave 2") })
        {
            output.WriteLine($"{name}: {RequestsPerWave} requests, {Concurrency} at a time, in {wave.Elapsed.TotalSeconds:0.0} s: "
                + string.Join(", ", wave.Statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))
                + $"; mnist predicts alongside: " + string.Join(", ", wave.Predicts.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}")));
        }

        output.WriteLine($"after the load: slow infer {string.Join(",", afterwards)}, mnist predict {predictAfter}");

        foreach (var wave in new[] { first, second })
        {
            Assert.All(wave.Statuses, status => Assert.True(status is 200 or 503, $"a request during overload was answered {status}: {wave.Unexpected.FirstOrDefault()}"));
            Assert.Contains(503, wave.Statuses);
            Assert.Contains(200, wave.Statuses);
            Assert.True(wave.RefusalsWithoutRetryAfter == 0, $"{wave.RefusalsWithoutRetryAfter} of the 503s had no Retry-After");
            // Queues are per model: the slow one overflowing must not cost mnist a request.
            Assert.All(wave.Predicts, status => Assert.Equal(200, status));
            Assert.True(wave.PeakResident < MemoryCap, $"inference reached {Mb(wave.PeakResident)}, over the cap of {Mb(MemoryCap)}");
        }

        Assert.True(second.PeakResident <= first.PeakResident + GrowthMargin, $"inference grew from a peak of {Mb(first.PeakResident)} in wave 1 to {Mb(second.PeakResident)} in wave 2");
        Assert.All(afterwards, status => Assert.Equal(200, status));
        Assert.Equal(200, predictAfter);
        Assert.Equal(processId, RunningPlatform.ServiceProcessId(fixture.Platform.Replica(inference.ResourceId)));
        Assert.True(fixture.Platform.Replica(inference.ResourceId) is { Starts: 1, IsRunningAndHealthy: true }, $"inference restarted or unhealthy: {fixture.Platform.Replica(inference.ResourceId)}");
    }

    private sealed record Wave(List<int> Statuses, List<int> Predicts, int RefusalsWithoutRetryAfter, List<string> Unexpected, long PeakResident, TimeSpan Elapsed);

    private async Task<Wave> WaveAsync(HttpClient gateway, int processId)
    {
        var statuses = new List<int>();
        var unexpected = new List<string>();
        var withoutRetryAfter = 0;
        var peak = ReplicaProbe.ResidentBytes(processId);
        using var done = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                peak = Math.Max(peak, ReplicaProbe.ResidentBytes(processId));
                await Task.Delay(50);
            }
        });
        var predicts = new List<int>();
        // A client of its own, as another consumer would be: the wave holds every connection of the first one.
        using var other = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = gateway.Timeout };
        other.DefaultRequestHeaders.Add("apikey", RetryingGatewayClient.ApiKey);
        var predicting = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                var status = await PredictAsync(other);
                lock (predicts)
                {
                    predicts.Add(status);
                }
            }
        });

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, RequestsPerWave), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (_, _) =>
        {
            var (status, retryAfter, body) = await InferAsync(gateway);
            lock (statuses)
            {
                statuses.Add(status);
                if (status == 503 && retryAfter is null)
                {
                    withoutRetryAfter++;
                }

                if (status is not (200 or 503) && unexpected.Count < 5)
                {
                    unexpected.Add($"{status}: {body}");
                }
            }
        });
        var elapsed = watch.Elapsed;
        await done.CancelAsync();
        await Task.WhenAll(sampler, predicting);
        peak = Math.Max(peak, ReplicaProbe.ResidentBytes(processId));
        return new Wave(statuses, predicts, withoutRetryAfter, unexpected, peak, elapsed);
    }

    private static async Task<(int Status, string? RetryAfter, string Body)> InferAsync(HttpClient gateway)
    {
        using var content = new ByteArrayContent(Body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", Header.Length.ToString(CultureInfo.InvariantCulture));
        using var response = await gateway.PostAsync("/v2/models/slow/infer", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var body = response.IsSuccessStatusCode ? $"{bytes.Length} bytes" : Encoding.UTF8.GetString(bytes);
        return ((int)response.StatusCode, response.Headers.RetryAfter?.ToString(), body);
    }

    private static async Task<int> PredictAsync(HttpClient gateway)
    {
        using var content = new ByteArrayContent(Image.Value);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var response = await gateway.PostAsync("/v1/models/mnist:predict", content);
        return (int)response.StatusCode;
    }

    private static readonly Lazy<byte[]> Image = new(() => DigitImages.BlackOnWhite(HoldOutDigits.First(3)));

    /// <summary>A JSON header and a 256x256 matrix of 1/256: every product of it is the same matrix, so values stay tame.</summary>
    private static byte[] CreateBody()
    {
        var tensor = new byte[OverloadFixture.Side * OverloadFixture.Side * 4];
        for (var i = 0; i < tensor.Length; i += 4)
        {
            BitConverter.GetBytes(1f / OverloadFixture.Side).CopyTo(tensor, i);
        }

        return [.. Header, .. tensor];
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0} MB";
}
