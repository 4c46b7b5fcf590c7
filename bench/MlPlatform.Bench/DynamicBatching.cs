using System.Globalization;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// P5: the same convolutional model served with the dynamic batcher on and off, 16 clients each sending one
/// item at a time; items/s with batching against items/s without, same run. Measured for the bench model the
/// target is set on (dense head) and, for comparison, for one whose work is nearly all convolution.
/// </summary>
internal static class DynamicBatching
{
    public const string Id = "dynamic-batching";

    private const int Clients = 16;

    public static async Task RunAsync(BenchSettings settings)
    {
        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Per model, two inference processes (Release), identical but for `dynamic_batching` (on: `max_batch_size` 16, preferred sizes 8 and 16, 2 ms queue delay; off: `max_batch_size` 0, each request runs alone as it comes), both with {Environment.ProcessorCount} ONNX Runtime threads. {Clients} concurrent clients, each sending one item per V2 binary request; {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s. \"One item alone\" is the p50 latency of single requests sent one after another to the service without batching.")
            .AppendLine()
            .AppendLine("| model | one item alone, ms | batching off (reference), items/s | batching on, items/s | p50 ms off / on | p99 ms off / on | on / off | errors |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var ratios = new List<double>();
        foreach (var model in (ConvBenchModel[])[ConvBenchModel.DenseHead, ConvBenchModel.ConvHeavy])
        {
            var (row, ratio) = await MeasureAsync(model, settings);
            body.AppendLine(row);
            ratios.Add(ratio);
        }

        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**on / off = {ratios[0]:F2}x for `{ConvBenchModel.DenseHead.Name}`** (goal: at least 1.3x). Models: {ConvBenchModel.DenseHead.Describe()}; {ConvBenchModel.ConvHeavy.Describe()}.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"A batch multiplies the dense layer's matrix once for all its items, so `{ConvBenchModel.DenseHead.Name}`'s {ConvBenchModel.DenseHead.DenseMegabytes} MB of weights (more than this machine's 32 MB L3 cache) are read from memory once per batch instead of once per item. `{ConvBenchModel.ConvHeavy.Name}` gains little ({ratios[1]:F2}x): ONNX Runtime's CPU convolution works image by image, so a batch of convolutions costs what its images cost one by one, and the batcher runs one batch at a time while unbatched requests run side by side.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "P5 dynamic batching on vs off, convolutional models", body.ToString());
    }

    private static async Task<(string Row, double Ratio)> MeasureAsync(ConvBenchModel model, BenchSettings settings)
    {
        var threads = Environment.ProcessorCount;
        using var on = new InferenceUnderTest(model, model.Config(dynamicBatching: true, threads));
        using var off = new InferenceUnderTest(model, model.Config(dynamicBatching: false, threads));
        await using var batched = await on.StartAsync();
        await using var unbatched = await off.StartAsync();

        var item = V2Binary.Request(ConvBenchModel.Input, model.Shape(1), model.Inputs(1));
        HttpRequestMessage Infer() => V2Binary.Infer(model.Name, item);
        using var batchedClient = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = batched.BaseAddress };
        using var unbatchedClient = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = unbatched.BaseAddress };

        // What one item costs alone, to show the model is as heavy as the benchmark needs (at least 1 ms).
        var single = await LoadGenerator.RunAsync(unbatchedClient, Infer, 1, settings.Warmup);
        await LoadGenerator.RunAsync(batchedClient, Infer, Clients, settings.Warmup);
        await LoadGenerator.RunAsync(unbatchedClient, Infer, Clients, settings.Warmup);

        var withBatching = new List<LoadResult>();
        var without = new List<LoadResult>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            without.Add(await LoadGenerator.RunAsync(unbatchedClient, Infer, Clients, settings.Duration));
            withBatching.Add(await LoadGenerator.RunAsync(batchedClient, Infer, Clients, settings.Duration));
            Console.WriteLine($"{model.Name} round {round + 1}: batching off {without[^1]}; on {withBatching[^1]}");
        }

        var offRate = without.Sum(r => r.Completed) / without.Sum(r => r.Elapsed.TotalSeconds);
        var onRate = withBatching.Sum(r => r.Completed) / withBatching.Sum(r => r.Elapsed.TotalSeconds);
        var ratio = onRate / offRate;
        Console.WriteLine($"{model.Name}: batching on / off = {ratio:F2}x; one item alone {single.P50Milliseconds:F2} ms");
        var row = string.Create(CultureInfo.InvariantCulture, $"| `{model.Name}` | {single.P50Milliseconds:F2} | {offRate:F1} | {onRate:F1} | {without.Median(r => r.P50Milliseconds):F1} / {withBatching.Median(r => r.P50Milliseconds):F1} | {without.Median(r => r.P99Milliseconds):F1} / {withBatching.Median(r => r.P99Milliseconds):F1} | {ratio:F2}x | {without.Sum(r => r.Failed) + withBatching.Sum(r => r.Failed)} |");
        return (row, ratio);
    }
}

/// <summary>A model repository in a temporary folder holding one bench model, and an inference service over it.</summary>
internal sealed class InferenceUnderTest : IDisposable
{
    private readonly string _repository = Directory.CreateTempSubdirectory("mlplatform-bench-").FullName;

    public InferenceUnderTest(ConvBenchModel model, string config) => ModelPath = model.Write(_repository, config);

    public string ModelPath { get; }

    public Task<ServiceProcess> StartAsync() =>
        ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>(BenchApplication.QuietLogging())
        {
            ["Inference__ModelRepository"] = _repository,
        });

    public void Dispose() => Directory.Delete(_repository, recursive: true);
}
