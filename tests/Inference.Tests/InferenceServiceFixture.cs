using Grpc.Net.Client;
using MlPlatform.Inference.Grpc.Protos;
using MlPlatform.TestSupport;

namespace MlPlatform.Inference.Tests;

/// <summary>The inference service serving the repository's own models/ folder, as a new user runs it.</summary>
public sealed class BundledModelsFixture : IAsyncLifetime
{
    public ServiceProcess Service { get; private set; } = null!;

    public HttpClient Client => Service.Client;

    public GrpcEndpoint Grpc { get; } = new();

    public async Task InitializeAsync() =>
        Service = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", Grpc.Environment());

    public async Task DisposeAsync()
    {
        Grpc.Dispose();
        await Service.DisposeAsync();
    }
}

/// <summary>The inference service over a temporary repository of generated models, with a small body limit.</summary>
public sealed class GeneratedModelsFixture : IAsyncLifetime
{
    public const long BodyLimit = 1024 * 1024;

    public string Repository { get; } = TestModels.CreateRepository();

    public ServiceProcess Service { get; private set; } = null!;

    public HttpClient Client => Service.Client;

    public GrpcEndpoint Grpc { get; } = new();

    public async Task InitializeAsync()
    {
        TestModels.AddModel(Repository, "pair", new { name = "pair", max_batch_size = 0 }, (1, TestModels.Pair()));
        TestModels.AddModel(Repository, "types", new { name = "types" }, (1, TestModels.Types()));
        TestModels.AddModel(
            Repository,
            "offset",
            new
            {
                name = "offset",
                max_batch_size = 8,
                dynamic_batching = new { preferred_batch_size = new[] { 4 }, max_queue_delay_microseconds = 2_000_000, max_queue_size = 64 },
            },
            (1, TestModels.AddConstant(1)),
            (2, TestModels.AddConstant(2)));
        TestModels.AddModel(
            Repository,
            "slow",
            new
            {
                name = "slow",
                max_batch_size = 1,
                dynamic_batching = new { max_queue_delay_microseconds = 0, max_queue_size = 2 },
                onnxruntime = new { intra_op_threads = 1 },
            },
            (1, TestModels.Slow()));
        TestModels.AddModel(Repository, "echo", new { name = "echo", max_batch_size = 0 }, (1, TestModels.Echo()));

        var environment = Grpc.Environment();
        environment["Inference__ModelRepository"] = Repository;
        environment["Inference__MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Inference__MaxGrpcMessageBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Service = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", environment);
    }

    public async Task DisposeAsync()
    {
        Grpc.Dispose();
        await Service.DisposeAsync();
        Directory.Delete(Repository, recursive: true);
    }
}

/// <summary>
/// The inference service over models whose statistics are known in advance: <c>batched</c> (two versions) makes one
/// execution of every four items that arrive within 3 s of each other, and runs four or more at once; <c>lookup</c>
/// batches three and fails the run on an index past 3; <c>single</c> has no batching.
/// </summary>
public sealed class StatisticsFixture : IAsyncLifetime
{
    public string Repository { get; } = TestModels.CreateRepository();

    public ServiceProcess Service { get; private set; } = null!;

    public HttpClient Client => Service.Client;

    public GrpcEndpoint Grpc { get; } = new();

    public async Task InitializeAsync()
    {
        TestModels.AddModel(
            Repository,
            "batched",
            new
            {
                name = "batched",
                max_batch_size = 8,
                dynamic_batching = new { preferred_batch_size = new[] { 4 }, max_queue_delay_microseconds = 3_000_000, max_queue_size = 64 },
            },
            (1, TestModels.AddConstant(1)),
            (2, TestModels.AddConstant(2)));
        TestModels.AddModel(
            Repository,
            "lookup",
            new
            {
                name = "lookup",
                max_batch_size = 4,
                dynamic_batching = new { preferred_batch_size = new[] { 3 }, max_queue_delay_microseconds = 3_000_000, max_queue_size = 64 },
            },
            (1, TestModels.Lookup()));
        TestModels.AddModel(Repository, "single", new { name = "single", max_batch_size = 0 }, (1, TestModels.Pair()));

        var environment = Grpc.Environment();
        environment["Inference__ModelRepository"] = Repository;
        Service = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", environment);
    }

    public async Task DisposeAsync()
    {
        Grpc.Dispose();
        await Service.DisposeAsync();
        Directory.Delete(Repository, recursive: true);
    }
}

/// <summary>The service's gRPC port, and a client generated from the service's .proto for it.</summary>
public sealed class GrpcEndpoint : IDisposable
{
    public int Port { get; } = LoopbackPort.Free();

    public GrpcChannel Channel => field ??= GrpcChannel.ForAddress(
        $"http://127.0.0.1:{Port}", new GrpcChannelOptions { MaxReceiveMessageSize = null });

    public GRPCInferenceService.GRPCInferenceServiceClient Client => new(Channel);

    public Dictionary<string, string?> Environment() =>
        new() { ["Inference__GrpcPort"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    public void Dispose() => Channel.Dispose();
}
