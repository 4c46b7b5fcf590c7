using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace MlPlatform.Bench;

/// <summary>
/// P6: items/s of the inference service against ONNX Runtime called in this process, same model, same
/// session settings and same batch size: what HTTP, the protocol codec and the scheduler cost.
/// </summary>
internal static class ServiceVersusInProcess
{
    public const string Id = "service-vs-in-process";

    private const int BatchSize = 8;

    public static async Task RunAsync(BenchSettings settings)
    {
        var threads = Environment.ProcessorCount;
        var model = ConvBenchModel.DenseHead;
        // Batching off: each request is already a batch of 8 and runs as it comes, as the in-process loop runs it.
        using var repository = new InferenceUnderTest(model, model.Config(dynamicBatching: false, threads));
        await using var service = await repository.StartAsync();

        var shape = model.Shape(BatchSize);
        var inputs = model.Inputs(BatchSize);
        var request = V2Binary.Request(ConvBenchModel.Input, shape, inputs);
        using var client = new HttpClient { BaseAddress = service.BaseAddress };
        HttpRequestMessage Infer() => V2Binary.Infer(model.Name, request);

        // The service's session settings (Services/Inference/Repository/ServedModel.cs) for this config.
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(repository.ModelPath, options);
        using var runOptions = new RunOptions();
        using var input = OrtValue.CreateTensorValueFromMemory(inputs, shape);
        string[] inputNames = [ConvBenchModel.Input];
        string[] outputNames = [ConvBenchModel.Output];
        OrtValue[] inputValues = [input];
        (int Batches, TimeSpan Elapsed) RunInProcess(TimeSpan duration)
        {
            var watch = Stopwatch.StartNew();
            var batches = 0;
            while (watch.Elapsed < duration)
            {
                using var results = session.Run(runOptions, inputNames, inputValues, outputNames);
                batches++;
            }

            return (batches, watch.Elapsed);
        }

        RunInProcess(settings.Warmup);
        await LoadGenerator.RunAsync(client, Infer, 1, settings.Warmup);

        // One caller at a time on both sides: each batch has both cores to itself.
        var inProcess = new List<(int Batches, TimeSpan Elapsed)>();
        var overHttp = new List<LoadResult>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            inProcess.Add(RunInProcess(settings.Duration));
            overHttp.Add(await LoadGenerator.RunAsync(client, Infer, 1, settings.Duration));
            Console.WriteLine($"round {round + 1}: in-process {inProcess[^1].Batches * BatchSize / inProcess[^1].Elapsed.TotalSeconds:F0} items/s; service {overHttp[^1]}");
        }

        var inProcessRate = inProcess.Sum(r => r.Batches) * BatchSize / inProcess.Sum(r => r.Elapsed.TotalSeconds);
        var serviceRate = overHttp.Sum(r => r.Completed) * BatchSize / overHttp.Sum(r => r.Elapsed.TotalSeconds);
        var ratio = serviceRate / inProcessRate;
        Console.WriteLine($"service / in-process = {ratio:F2}x (goal at least 0.8x)");
        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Model: {model.Describe()} (P5's), batch size {BatchSize}, ONNX Runtime {OrtEnv.Instance().GetVersionString()} with {threads} intra-op threads on both sides. In-process: `InferenceSession.Run` on a prepared `OrtValue`, one call after another. Service: the inference service (Release, `max_batch_size` 0 so each request runs alone, as sent), one client sending V2 binary requests of {BatchSize} items one after another, outputs binary. {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s. Client errors: {overHttp.Sum(r => r.Failed)}.")
            .AppendLine()
            .AppendLine("| caller | items/s | ms per batch (p50) |")
            .AppendLine("| --- | ---: | ---: |")
            .AppendLine(CultureInfo.InvariantCulture, $"| ONNX Runtime in-process (reference) | {inProcessRate:F1} | {1000.0 * BatchSize / inProcessRate:F2} (mean) |")
            .AppendLine(CultureInfo.InvariantCulture, $"| inference service over HTTP | {serviceRate:F1} | {overHttp.Median(r => r.P50Milliseconds):F2} |")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**service / in-process = {ratio:F2}x** (goal: at least 0.8x).")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "P6 inference service vs ONNX Runtime in-process", body.ToString());
    }
}
