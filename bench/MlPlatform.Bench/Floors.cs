using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MlPlatform.Preprocessing.Imaging;
using MlPlatform.Preprocessing.Limits;
using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Bench;

/// <summary>
/// The floors that performance goals are read against, on this machine, in one run: the mnist decode and steps in a
/// tight loop in this process, set against the CPU the preprocessing service spends on the same image; and one Kestrel
/// request-response with an empty handler, driven by one HttpClient, at 1 and at 16 concurrent clients. A goal in µs of
/// CPU per predict says little until it is known how many of those µs no code of the platform's can remove.
/// </summary>
internal static class Floors
{
    public const string Id = "floors";

    private const int Side = 280;

    /// <summary>Client to gateway, then gateway to preprocessing, to inference and to postprocessing.</summary>
    private const int PredictHops = 4;

    private const double ExampleGoalMicroseconds = 1_000;

    /// <summary>HTTP/1.1 at one client and at sixteen, and h2c (HTTP/2 with prior knowledge, one multiplexed connection) at sixteen.</summary>
    private static readonly HopVariant[] HopVariants = [new(1, H2c: false), new(16, H2c: false), new(16, H2c: true)];

    public static async Task RunAsync(BenchSettings settings)
    {
        var loadBefore = LoadAverage();
        var preprocessing = await MeasurePreprocessingAsync(settings);
        var hops = await MeasureHopsAsync(settings);
        var loadAfter = LoadAverage();

        var single = hops[0];
        var loaded = hops[1];
        var multiplexed = hops[2];
        var floorRatio = preprocessing.ServiceCpu / preprocessing.FloorCpu;
        var predictFloor = (PredictHops * loaded.HopCpu) + preprocessing.FloorCpu;
        var predictFloorOneClient = (PredictHops * single.HopCpu) + preprocessing.FloorCpu;
        var proxiedPredictFloor = (2 * PredictHops * loaded.HopCpu) + preprocessing.FloorCpu;
        Console.WriteLine($"preprocessing service / floor = {floorRatio:F2}x; predict floor {predictFloor:F0} µs CPU ({PredictHops} hops at {loaded.Clients} clients + preprocessing)");

        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Load average (1 minute, /proc/loadavg) {loadBefore} when the run began and {loadAfter} when it ended, on {Environment.ProcessorCount} cores: the work on the machine besides this run moves each round's figures, so every CPU figure below is the sum over its rounds divided by their images or requests, and each round's own is listed beside it.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**Preprocessing floor.** `models/mnist/example-7.png` ({Side}x{Side}, {preprocessing.PngBytes:N0} bytes) through the preprocessing service's own code for `models/mnist/config.json`'s `preprocess` section (`PreprocessPipeline.Run`: decode, then the mnist steps into a 1x28x28 tensor), one thread of this process in a tight loop, {settings.Rounds} rounds of {preprocessing.FloorRound.TotalSeconds:F0} s after {preprocessing.FloorWarmup.TotalSeconds:F0} s of warm-up. CPU is this process's user and system time (/proc), so the GC's work for the loop counts. Interleaved with it, the same PNG posted to a preprocessing service process of its own (Release build, warnings-only logging; an inference process beside it answers its config look-ups, one a model every 10 s) at `POST /v1/preprocess/mnist`, {preprocessing.Clients} concurrent clients from this process (the load one preprocessing replica takes in `{PipelineVersusDirect.Id}`), rounds of {preprocessing.ServiceRound.TotalSeconds:F0} s; its CPU is that process's alone. Failed requests: {preprocessing.Failed}.")
            .AppendLine()
            .AppendLine("| path | CPU µs per image | each round's | wall µs per image | images/s | CPU / floor |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |")
            .AppendLine(CultureInfo.InvariantCulture, $"| in-process loop, 1 thread (floor) | {preprocessing.FloorCpu:F0} | {Rounds(preprocessing.FloorCpuRounds)} | {preprocessing.FloorWall:F0} | {1e6 / preprocessing.FloorWall:F0} | 1.00x |")
            .AppendLine(CultureInfo.InvariantCulture, $"| preprocessing service, {preprocessing.Clients} clients | {preprocessing.ServiceCpu:F0} | {Rounds(preprocessing.ServiceCpuRounds)} | p50 {preprocessing.ServiceP50Microseconds:F0} | {preprocessing.ServiceRate:F0} | {floorRatio:F2}x |")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**preprocessing service CPU / floor CPU = {floorRatio:F2}x** ({preprocessing.ServiceCpu - preprocessing.FloorCpu:F0} µs a request besides the decode and the steps as the loop runs them: Kestrel, reading the body, routing, the config look-up, writing the V2 request, metrics, and running {preprocessing.Clients} requests at once beside their client on {Environment.ProcessorCount} cores).")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**Hop floor.** `GET /health` (answers the 7 bytes `Healthy`, nothing else) on the smallest ASP.NET Core service (`{nameof(EmptyWebApp)}`: `CreateSlimBuilder`, one endpoint, its own process, Release, warnings-only logging), HTTP/1.1 over loopback (and, from a second such process whose every endpoint is HTTP/2 only, h2c: HTTP/2 with prior knowledge, all clients' requests multiplexed on one connection, as SocketsHttpHandler sends them), from one HttpClient on a SocketsHttpHandler in this process, keep-alive, each client sending its next request when the last is answered; {settings.Rounds} interleaved rounds of {loaded.Round.TotalSeconds:F0} s after {loaded.Warmup.TotalSeconds:F0} s of warm-up at each client count. Server CPU is the service's process; client CPU is this whole process, the load generator's own bookkeeping included. Failed requests: {hops.Sum(h => h.Failed)}.")
            .AppendLine()
            .AppendLine("| protocol | clients | requests/s | p50 µs | server CPU µs per request | client CPU µs per request | hop CPU µs per request | each round's | hop CPU / HTTP/1.1 at 1 client's |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var hop in hops)
        {
            body.AppendLine(CultureInfo.InvariantCulture, $"| {hop.Protocol} | {hop.Clients} | {hop.Rate:F0} | {hop.P50Microseconds:F0} | {hop.ServerCpu:F1} | {hop.ClientCpu:F1} | {hop.HopCpu:F1} | {Rounds(hop.HopCpuRounds)} | {hop.HopCpu / single.HopCpu:F2}x |");
        }

        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**One hop costs {loaded.HopCpu:F0} µs of CPU at {loaded.Clients} clients ({loaded.ServerCpu:F0} server + {loaded.ClientCpu:F0} client), {single.HopCpu:F0} µs at 1; one image's preprocessing {preprocessing.FloorCpu:F0} µs.** Over h2c the same hop at {multiplexed.Clients} clients costs {multiplexed.HopCpu:F0} µs, {multiplexed.HopCpu / loaded.HopCpu:F2}x HTTP/1.1's: with no body, sixteen requests at a time on one connection. Sent on a predict's inference hop, with its body, h2c cost the gateway and inference more than HTTP/1.1 did (see the section on what was tried).")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"How to read later goals against these floors: a predict from a PNG through the gateway crosses {PredictHops} hops (client to gateway; gateway to preprocessing, to inference, to postprocessing), each with a server and a client side, and decodes and preprocesses one image, so the platform as it is built (four calls, one image decoded a predict, today's decoder and steps) spends no less than {PredictHops} x {loaded.HopCpu:F0} + {preprocessing.FloorCpu:F0} = **{predictFloor:F0} µs of CPU a predict** under load ({predictFloorOneClient:F0} µs with the hops' 1-client cost), before inference runs the model and before any of the platform's own work (YARP and the gateway's middleware, the V2 codec, postprocessing). A goal of {ExampleGoalMicroseconds:N0} µs of CPU a predict is {ExampleGoalMicroseconds / predictFloor:F2}x that floor and leaves {ExampleGoalMicroseconds - predictFloor:F0} µs for all of that; compare the per-process table of `{PipelineVersusDirect.Id}` with it process by process (a service's server side is one hop's server CPU, the gateway's share is {PredictHops} hops' worth, one side each). Through DCP's proxies each of those calls crosses a proxy as well, twice the hops, a floor of {proxiedPredictFloor:F0} µs. The hops here carry no body; a predict's carry a few KB each way, so its real floor is somewhat higher, never lower. A goal for one service reads the same way: the preprocessing service's CPU a request against {preprocessing.FloorCpu:F0} µs of image work plus one hop's server side ({loaded.ServerCpu:F0} µs). Wall figures are not floors on a shared 2-core machine: the CPU figures are what the goals are read against.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "Floors: mnist preprocessing in-process and one Kestrel hop", body.ToString());
    }

    private static async Task<PreprocessingFloor> MeasurePreprocessingAsync(BenchSettings settings)
    {
        var png = ExampleDrawing();
        // As the service builds it for models/mnist (max_batch_size 64), and with its default pixel limit.
        var pipeline = new PreprocessPipeline("mnist", ImageKernels.MnistPreprocess(), maxBatchSize: 64);
        var maxPixels = new PreprocessingOptions().MaxImagePixels;
        var destination = new float[pipeline.InstanceLength];
        void RunOnce() => pipeline.Run(png, maxPixels, destination);

        await using var inference = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", BenchApplication.QuietLogging());
        await using var service = await ServiceProcess.StartAsync("Services/Preprocessing", "MlPlatform.Preprocessing", new Dictionary<string, string?>(BenchApplication.QuietLogging())
        {
            ["services__inference__http__0"] = inference.BaseAddress.ToString(),
        });
        using var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = service.BaseAddress };
        HttpRequestMessage Preprocess()
        {
            var content = new ByteArrayContent(png);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            return new HttpRequestMessage(HttpMethod.Post, "/v1/preprocess/mnist") { Content = content };
        }

        using (var first = await client.SendAsync(Preprocess()))
        {
            if (!first.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"POST /v1/preprocess/mnist answered {(int)first.StatusCode}: {await first.Content.ReadAsStringAsync()}");
            }
        }

        var floorRound = TimeSpan.FromSeconds(settings.Quick ? 1 : 2);
        var serviceRound = settings.Duration / 2;
        var clients = settings.Concurrency;
        RunLoop(RunOnce, settings.Warmup / 2);
        await LoadGenerator.RunAsync(client, Preprocess, clients, settings.Warmup);

        var floor = new List<LoopResult>();
        var served = new List<CpuResult>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            floor.Add(RunLoop(RunOnce, floorRound));
            served.Add(await MeasureCpuAsync(service.ProcessId, () => LoadGenerator.RunAsync(client, Preprocess, clients, serviceRound)));
            Console.WriteLine($"round {round + 1}: floor {floor[^1].CpuMicroseconds:F0} µs CPU, {floor[^1].WallMicroseconds:F0} µs wall per image; service {served[^1].Load}, {served[^1].ServerMicroseconds:F0} µs CPU per request");
        }

        var completed = served.Sum(r => r.Load.Completed);
        return new PreprocessingFloor(
            png.Length,
            floorRound,
            settings.Warmup / 2,
            serviceRound,
            clients,
            FloorCpu: floor.Sum(r => r.Cpu.TotalMicroseconds) / floor.Sum(r => r.Images),
            FloorWall: floor.Sum(r => r.Wall.TotalMicroseconds) / floor.Sum(r => r.Images),
            FloorCpuRounds: floor.Select(r => r.CpuMicroseconds).ToList(),
            ServiceCpu: served.Sum(r => r.Server.TotalMicroseconds) / completed,
            ServiceCpuRounds: served.Select(r => r.ServerMicroseconds).ToList(),
            ServiceRate: completed / served.Sum(r => r.Load.Elapsed.TotalSeconds),
            ServiceP50Microseconds: served.Median(r => r.Load.P50Milliseconds) * 1000,
            Failed: served.Sum(r => r.Load.Failed));
    }

    private static async Task<List<HopFloor>> MeasureHopsAsync(BenchSettings settings)
    {
        await using var http1 = await StartEmptyWebAppAsync(null);
        var h2cPort = LoopbackPort.Free();
        await using var http2 = await StartEmptyWebAppAsync(h2cPort);
        using var client1 = new HttpClient(new SocketsHttpHandler()) { BaseAddress = http1.BaseAddress };
        using var client2 = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri($"http://127.0.0.1:{h2cPort}") };
        static HttpRequestMessage Health() => new(HttpMethod.Get, "/health");
        static HttpRequestMessage Health2() => new(HttpMethod.Get, "/health") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        (HttpClient Client, Func<HttpRequestMessage> Request, int ServerId) Target(HopVariant variant) =>
            variant.H2c ? (client2, Health2, http2.ProcessId) : (client1, Health, http1.ProcessId);

        var round = settings.Duration / 2;
        var warmup = settings.Warmup / 2;
        foreach (var variant in HopVariants)
        {
            var (client, request, _) = Target(variant);
            await LoadGenerator.RunAsync(client, request, variant.Clients, warmup);
        }

        var results = HopVariants.ToDictionary(variant => variant, _ => new List<CpuResult>());
        for (var index = 0; index < settings.Rounds; index++)
        {
            foreach (var variant in HopVariants)
            {
                var (client, request, serverId) = Target(variant);
                var result = await MeasureCpuAsync(serverId, () => LoadGenerator.RunAsync(client, request, variant.Clients, round));
                results[variant].Add(result);
                Console.WriteLine($"round {index + 1}, {variant.Name}, {variant.Clients} client(s): {result.Load}; server {result.ServerMicroseconds:F1} µs, client {result.ClientMicroseconds:F1} µs CPU per request");
            }
        }

        return HopVariants.Select(variant =>
        {
            var rounds = results[variant];
            var completed = rounds.Sum(r => r.Load.Completed);
            return new HopFloor(
                variant.Clients,
                variant.Name,
                round,
                warmup,
                Rate: completed / rounds.Sum(r => r.Load.Elapsed.TotalSeconds),
                P50Microseconds: rounds.Median(r => r.Load.P50Milliseconds) * 1000,
                ServerCpu: rounds.Sum(r => r.Server.TotalMicroseconds) / completed,
                ClientCpu: rounds.Sum(r => r.Client.TotalMicroseconds) / completed,
                HopCpuRounds: rounds.Select(r => r.ServerMicroseconds + r.ClientMicroseconds).ToList(),
                Failed: rounds.Sum(r => r.Load.Failed));
        }).ToList();
    }

    /// <param name="h2cPort">Serve h2c on this port (and HTTP/1.1 elsewhere, to be seen up) instead of HTTP/1.1 on a port of Kestrel's choosing.</param>
    private static Task<ServiceProcess> StartEmptyWebAppAsync(int? h2cPort)
    {
        var environment = new Dictionary<string, string?>(BenchApplication.QuietLogging()) { [EmptyWebApp.RoleVariable] = EmptyWebApp.Role };
        if (h2cPort is not { } port)
        {
            return ServiceProcess.StartAsync("bench/MlPlatform.Bench", "MlPlatform.Bench", environment);
        }

        var readyPort = LoopbackPort.Free();
        environment[EmptyWebApp.H2cPortVariable] = port.ToString(CultureInfo.InvariantCulture);
        environment[EmptyWebApp.ReadyPortVariable] = readyPort.ToString(CultureInfo.InvariantCulture);
        return ServiceProcess.StartAsync("bench/MlPlatform.Bench", "MlPlatform.Bench", environment, managementPort: readyPort);
    }

    private static string Rounds(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)));

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    /// <summary>
    /// The bundled example as it ships when it is already 280x280, so the bytes are the ones a user sends; otherwise
    /// scaled to 280x280 and encoded again.
    /// </summary>
    private static byte[] ExampleDrawing()
    {
        var bytes = File.ReadAllBytes(RepositoryPaths.InRoot("models", "mnist", "example-7.png"));
        using var decoded = SKBitmap.Decode(bytes) ?? throw new InvalidOperationException("models/mnist/example-7.png is not an image SkiaSharp reads");
        if (decoded.Width == Side && decoded.Height == Side)
        {
            return bytes;
        }

        using var scaled = decoded.Resize(new SKImageInfo(Side, Side, decoded.ColorType, decoded.AlphaType), new SKSamplingOptions(SKFilterMode.Linear));
        using var image = SKImage.FromBitmap(scaled);
        using var encoded = image.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }

    /// <summary>Calls <paramref name="run"/> on this thread for about <paramref name="duration"/>, timing the process's CPU and the wall clock.</summary>
    private static LoopResult RunLoop(Action run, TimeSpan duration)
    {
        var cpuBefore = ProcessCpu.ProcessorTime(Environment.ProcessId);
        var (images, wall) = CallTimer.Repeat(run, duration);
        return new LoopResult(images, ProcessCpu.ProcessorTime(Environment.ProcessId) - cpuBefore, wall);
    }

    private static async Task<CpuResult> MeasureCpuAsync(int serverProcessId, Func<Task<LoadResult>> run)
    {
        var (serverBefore, clientBefore) = (ProcessCpu.ProcessorTime(serverProcessId), ProcessCpu.ProcessorTime(Environment.ProcessId));
        var load = await run();
        var (serverAfter, clientAfter) = (ProcessCpu.ProcessorTime(serverProcessId), ProcessCpu.ProcessorTime(Environment.ProcessId));
        return new CpuResult(load, serverAfter - serverBefore, clientAfter - clientBefore);
    }

    private readonly record struct LoopResult(long Images, TimeSpan Cpu, TimeSpan Wall)
    {
        public double CpuMicroseconds => Cpu.TotalMicroseconds / Images;

        public double WallMicroseconds => Wall.TotalMicroseconds / Images;
    }

    private readonly record struct CpuResult(LoadResult Load, TimeSpan Server, TimeSpan Client)
    {
        public double ServerMicroseconds => Load.Completed == 0 ? double.NaN : Server.TotalMicroseconds / Load.Completed;

        public double ClientMicroseconds => Load.Completed == 0 ? double.NaN : Client.TotalMicroseconds / Load.Completed;
    }

    /// <summary>Figures per image or per request, each summed over the rounds before dividing.</summary>
    private sealed record PreprocessingFloor(
        int PngBytes,
        TimeSpan FloorRound,
        TimeSpan FloorWarmup,
        TimeSpan ServiceRound,
        int Clients,
        double FloorCpu,
        double FloorWall,
        IReadOnlyList<double> FloorCpuRounds,
        double ServiceCpu,
        IReadOnlyList<double> ServiceCpuRounds,
        double ServiceRate,
        double ServiceP50Microseconds,
        int Failed);

    private sealed record HopVariant(int Clients, bool H2c)
    {
        public string Name => H2c ? "h2c" : "HTTP/1.1";
    }

    private sealed record HopFloor(int Clients, string Protocol, TimeSpan Round, TimeSpan Warmup, double Rate, double P50Microseconds, double ServerCpu, double ClientCpu, IReadOnlyList<double> HopCpuRounds, int Failed)
    {
        public double HopCpu => ServerCpu + ClientCpu;
    }
}
