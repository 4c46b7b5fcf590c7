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

        // The service's session settings (Services/Inference/Repository/ServedModelLoader.cs) for this config.
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
        (int Batches, TimeSpan Elapsed) RunInProcess(int callers, TimeSpan duration)
        {
            // ONNX Runtime sessions take concurrent Run calls; each caller has its own thread, as a service's requests would.
            var watch = Stopwatch.StartNew();
            var batches = 0;
            Parallel.For(0, callers, new ParallelOptions { MaxDegreeOfParallelism = callers }, _ =>
            {
                while (watch.Elapsed < duration)
                {
                    using var results = session.Run(runOptions, inputNames, inputValues, outputNames);
                    Interlocked.Increment(ref batches);
                }
            });
            return (batches, watch.Elapsed);
        }

        RunInProcess(1, settings.Warmup);
        await LoadGenerator.RunAsync(client, Infer, 1, settings.Warmup);

        // One caller measures what a request adds to a batch's time; two measure throughput, as a service is
        // used, with one request's HTTP work overlapping the other's computation (on both sides alike).
        var rows = new List<(int Callers, double InProcess, double Service, double P50, int Failed)>();
        foreach (var callers in (int[])[1, 2])
        {
            var inProcess = new List<(int Batches, TimeSpan Elapsed)>();
            var overHttp = new List<LoadResult>();
            for (var round = 0; round < settings.Rounds; round++)
            {
                inProcess.Add(RunInProcess(callers, settings.Duration));
                overHttp.Add(await LoadGenerator.RunAsync(client, Infer, callers, settings.Duration));
                Console.WriteLine($"{callers} caller(s), round {round + 1}: in-process {inProcess[^1].Batches * BatchSize / inProcess[^1].Elapsed.TotalSeconds:F0} items/s; service {overHttp[^1]}");
            }

            var inProcessRate = inProcess.Sum(r => r.Batches) * BatchSize / inProcess.Sum(r => r.Elapsed.TotalSeconds);
            var serviceRate = overHttp.Sum(r => r.Completed) * BatchSize / overHttp.Sum(r => r.Elapsed.TotalSeconds);
            rows.Add((callers, inProcessRate, serviceRate, overHttp.Median(r => r.P50Milliseconds), overHttp.Sum(r => r.Failed)));
            Console.WriteLine($"{callers} caller(s): service / in-process = {serviceRate / inProcessRate:F2}x (goal at least 0.8x)");
        }

        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Model: {model.Describe()} (P5's), batch size {BatchSize}, ONNX Runtime {OrtEnv.Instance().GetVersionString()} with {threads} intra-op threads on both sides. In-process: `InferenceSession.Run` on a prepared `OrtValue` by 1 or 2 threads, each calling it again as soon as it returns. Service: the inference service (Release, `max_batch_size` 0 so each request runs alone, as sent) and 1 or 2 clients, each sending V2 binary requests of {BatchSize} items one after another, outputs binary. {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s per row. Client errors: {rows.Sum(r => r.Failed)}.")
            .AppendLine()
            .AppendLine("| callers | ONNX Runtime in-process (reference), items/s | inference service over HTTP, items/s | service p50 ms per request | service / in-process |")
            .AppendLine("| ---: | ---: | ---: | ---: | ---: |");
        foreach (var row in rows)
        {
            body.AppendLine(CultureInfo.InvariantCulture, $"| {row.Callers} | {row.InProcess:F1} | {row.Service:F1} | {row.P50:F2} | {row.Service / row.InProcess:F2}x |");
        }

        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**service / in-process = {rows[0].Service / rows[0].InProcess:F2}x with one caller, {rows[1].Service / rows[1].InProcess:F2}x with two** (goal: at least 0.8x). With one caller every request's HTTP exchange, body parsing and response writing is time the model does not compute; with two they overlap another request's computation. Profiled: in the service one execution of this batch takes 4.1-5.0 ms (`mlplatform_inference_compute_duration_seconds` on its /metrics), against 3.6 ms for the same `Run` in-process, and the rest of the request inside the service (body, codec, response) about 0.3 ms. Per-thread CPU from /proc/PID/task shows ONNX Runtime's intra-op worker spinning on a full core between executions while the request's thread-pool thread takes the other, so the client's and Kestrel's work between two executions competes with that spin for two cores. In-process probes of the same session with a fresh input tensor a run, a 1 ms sleep or busy wait between runs, or 4 MB of memory written between runs all stayed at 3.1-4.0 ms a run. Tried without effect: ONNX Runtime's spinning off, the thread pool's idle spin back on, workstation GC.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "P6 inference service vs ONNX Runtime in-process", body.ToString());
    }
}
