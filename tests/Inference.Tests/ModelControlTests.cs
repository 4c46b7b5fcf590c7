using System.Globalization;
using System.Net;
using System.Text.Json;
using Grpc.Core;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;
using MlPlatform.TestSupport;
using static MlPlatform.Inference.Tests.ProtocolHttp;

namespace MlPlatform.Inference.Tests;

/// <summary>
/// Triton's model repository extension and its control modes: models loaded, reloaded and unloaded while the server
/// runs, a new version swapping in under load without a failed request, and a model that cannot load shown with its
/// reason while the others serve.
/// </summary>
public sealed class ModelControlTests
{
    private const string OffsetConfig = """{"name":"offset","max_batch_size":8,"dynamic_batching":{"max_queue_delay_microseconds":500,"max_queue_size":256}}""";

    [Fact]
    public async Task Explicit_OnlyStartupModelsLoad_ThenLoadAndUnloadByCall()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: ["offset"], repository =>
        {
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1)));
            TestModels.AddModel(repository, "pair", new { name = "pair" }, (1, TestModels.Pair()));
        });

        var index = await server.IndexAsync();
        Assert.Contains(index, e => e.Name == "offset" && e.Version == "1" && e.State == "READY");
        Assert.Contains(index, e => e.Name == "pair" && e.State == "UNAVAILABLE" && e.Reason == "not loaded");
        var (notLoaded, notLoadedBody) = await PostJsonAsync(server.Client, "/v2/models/pair/infer", PairRequest);
        Assert.Equal(HttpStatusCode.NotFound, notLoaded.StatusCode);
        Assert.Contains("'pair' is not loaded", notLoadedBody.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);

        var load = await server.Client.PostAsync("/v2/repository/models/pair/load", null);
        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        var (inferred, _) = await PostJsonAsync(server.Client, "/v2/models/pair/infer", PairRequest);
        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);

        var unload = await server.Client.PostAsync("/v2/repository/models/offset/unload", null);
        Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        Assert.Contains(await server.IndexAsync(), e => e.Name == "offset" && e.State == "UNAVAILABLE" && e.Reason == "unloaded");
        var (unloaded, _) = await PostJsonAsync(server.Client, "/v2/models/offset/infer", OffsetRequest(1));
        Assert.Equal(HttpStatusCode.NotFound, unloaded.StatusCode);
        Assert.DoesNotContain(await server.IndexAsync(ready: true), e => e.Name == "offset");
    }

    [Fact]
    public async Task Explicit_ConfigOverride_IsServedAndBadOnesAreRefusedNamingTheField()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: ["*"], repository =>
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1))));

        var overrideConfig = JsonSerializer.Serialize("""{"name":"offset","max_batch_size":4,"postprocess":{"top_k":3}}""");
        var loaded = await server.Client.PostAsync("/v2/repository/models/offset/load", Json($$$"""{"parameters":{"config":{{{overrideConfig}}}}}"""));
        Assert.Equal(HttpStatusCode.OK, loaded.StatusCode);
        var config = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/offset/config")).RootElement;
        Assert.Equal(4, config.GetProperty("max_batch_size").GetInt32());
        Assert.Equal(3, config.GetProperty("postprocess").GetProperty("top_k").GetInt32());

        var misspelt = JsonSerializer.Serialize("""{"name":"offset","max_batch_sise":4}""");
        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", $$$"""{"parameters":{"config":{{{misspelt}}}}}""", HttpStatusCode.BadRequest, "max_batch_sise");
        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", """{"parameters":{"config":{"name":"offset"}}}""", HttpStatusCode.BadRequest, "parameters.config");
        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", """{"parameters":{"file:1/model.onnx":"AAAA"}}""", HttpStatusCode.BadRequest, "parameters.file:1/model.onnx");
        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", """{"parameters":{"colour":"red"}}""", HttpStatusCode.BadRequest, "parameters.colour");
        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", """{"parameters":""", HttpStatusCode.BadRequest, "");
        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", "null", HttpStatusCode.BadRequest, "null");
        await AssertRefusedAsync(server, "/v2/repository/models/offset/unload", """{"parameters":{"unload_dependents":"yes"}}""", HttpStatusCode.BadRequest, "unload_dependents");
        await AssertRefusedAsync(server, "/v2/repository/models/nosuch/load", "", HttpStatusCode.NotFound, "nosuch");
        await AssertRefusedAsync(server, "/v2/repository/models/nosuch/unload", "", HttpStatusCode.NotFound, "nosuch");
        await AssertRefusedAsync(server, "/v2/repository/models/..%2F..%2Fetc/load", "", HttpStatusCode.NotFound, "not a model name");
        await AssertRefusedAsync(server, "/v2/repository/index", """{"ready":"yes"}""", HttpStatusCode.BadRequest, "ready");

        // The failed loads left the override's config in place.
        config = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/offset/config")).RootElement;
        Assert.Equal(4, config.GetProperty("max_batch_size").GetInt32());
        var (inferred, _) = await PostJsonAsync(server.Client, "/v2/models/offset/infer", OffsetRequest(1));
        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
    }

    [Theory]
    [InlineData("none", "explicit")]
    [InlineData("poll", "poll")]
    public async Task LoadAndUnload_OutsideExplicitMode_AreRefusedNamingTheMode(string mode, string expected)
    {
        await using var server = await ControlledServer.StartAsync(mode, startupModels: [], repository =>
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1))));

        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", "", HttpStatusCode.BadRequest, expected);
        await AssertRefusedAsync(server, "/v2/repository/models/offset/unload", "", HttpStatusCode.BadRequest, expected);
        var grpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Grpc.Client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "offset" }));
        Assert.Equal(StatusCode.FailedPrecondition, grpc.StatusCode);
        Assert.Contains(expected, grpc.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grpc_LoadUnloadAndIndex_AsTritonsRpcs()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: [], repository =>
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1))));
        var client = server.Grpc.Client;

        var before = await client.RepositoryIndexAsync(new RepositoryIndexRequest());
        Assert.Contains(before.Models, m => m.Name == "offset" && m.State == "UNAVAILABLE" && m.Reason == "not loaded");

        await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "offset" });
        var ready = await client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true });
        var entry = Assert.Single(ready.Models);
        Assert.Equal(("offset", "1", "READY"), (entry.Name, entry.Version, entry.State));
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "offset" })).Ready);

        var badConfig = new RepositoryModelLoadRequest { ModelName = "offset" };
        badConfig.Parameters["config"] = new ModelRepositoryParameter { StringParam = """{"name":"offset","max_batch_size":-1}""" };
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(badConfig));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("max_batch_size", refused.Status.Detail, StringComparison.Ordinal);

        var notString = new RepositoryModelLoadRequest { ModelName = "offset" };
        notString.Parameters["config"] = new ModelRepositoryParameter { BoolParam = true };
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(notString))).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest()))).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () =>
            await client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "nosuch" }))).StatusCode);

        await client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "offset" });
        var infer = new ModelInferRequest { ModelName = "offset" };
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(infer))).StatusCode);
    }

    [Fact]
    public async Task Explicit_NewVersionLoadedAndOldUnloaded_UnderEightClients_NoRequestFails()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: ["*"], repository =>
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1))));

        await using var load = new SteadyLoad(server, clients: 8);
        await load.UntilServedAsync(version: "1", count: 50);

        TestModels.AddModel(server.Repository, "offset", OffsetConfig, (2, TestModels.AddConstant(2)));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync("/v2/repository/models/offset/load", null)).StatusCode);
        // From the moment the load answers, a request for the model is version 2's.
        var (afterLoad, afterLoadBody) = await PostJsonAsync(server.Client, "/v2/models/offset/infer", OffsetRequest(10));
        Assert.Equal(HttpStatusCode.OK, afterLoad.StatusCode);
        Assert.Equal("2", afterLoadBody.RootElement.GetProperty("model_version").GetString());

        Directory.Delete(Path.Combine(server.Repository, "offset", "1"), recursive: true);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync("/v2/repository/models/offset/load", null)).StatusCode);
        await load.UntilServedAsync(version: "2", count: 50);

        var results = await load.StopAsync();
        Assert.Empty(results.Failures);
        Assert.True(results.ByVersion.GetValueOrDefault("1") > 0 && results.ByVersion.GetValueOrDefault("2") > 0, string.Join(", ", results.ByVersion));
        var index = await server.IndexAsync();
        Assert.Equal(["2"], index.Where(e => e.Name == "offset").Select(e => e.Version));
    }

    [Fact]
    public async Task Explicit_VersionThatFailsToLoad_LeavesTheServedOnesAndShowsWhy()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: ["*"], repository =>
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1))));
        var broken = Path.Combine(server.Repository, "offset", "2", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(broken)!);
        await File.WriteAllTextAsync(broken, "not a model");

        await AssertRefusedAsync(server, "/v2/repository/models/offset/load", "", HttpStatusCode.BadRequest, broken);

        var (inferred, body) = await PostJsonAsync(server.Client, "/v2/models/offset/infer", OffsetRequest(1));
        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
        Assert.Equal("1", body.RootElement.GetProperty("model_version").GetString());
        var index = await server.IndexAsync();
        Assert.Contains(index, e => e.Name == "offset" && e.Version == "1" && e.State == "READY");
        Assert.Contains(index, e => e.Name == "offset" && e.State == "UNAVAILABLE" && e.Reason!.Contains(broken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task None_ExitOnErrorFalse_ServesTheGoodModelsAndGivesTheBadOnesReason()
    {
        await using var server = await ControlledServer.StartAsync("none", startupModels: [], repository =>
        {
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1)));
            TestModels.AddModel(repository, "misspelt", """{"name":"misspelt","max_batch_sise":2}""", (1, TestModels.Pair()));
        }, exitOnError: false);

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        var (inferred, _) = await PostJsonAsync(server.Client, "/v2/models/offset/infer", OffsetRequest(1));
        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);

        var bad = Assert.Single(await server.IndexAsync(), e => e.Name == "misspelt");
        Assert.Equal("UNAVAILABLE", bad.State);
        Assert.Contains("max_batch_sise", bad.Reason, StringComparison.Ordinal);
        var (refused, refusedBody) = await PostJsonAsync(server.Client, "/v2/models/misspelt/infer", PairRequest);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("max_batch_sise", refusedBody.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        var grpc = await Assert.ThrowsAsync<RpcException>(async () => await server.Grpc.Client.ModelInferAsync(new ModelInferRequest { ModelName = "misspelt" }));
        Assert.Equal(StatusCode.Unavailable, grpc.StatusCode);
    }

    [Fact]
    public async Task Explicit_UnknownStartupModel_StopsTheServerNamingIt()
    {
        var repository = TestModels.CreateRepository();
        try
        {
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1)));
            await using var service = ServiceProcess.Launch("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>
            {
                ["Inference__ModelRepository"] = repository,
                ["Inference__ModelControlMode"] = "explicit",
                ["Inference__StartupModels__0"] = "nosuch",
            });

            Assert.Equal(1, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            await Task.Delay(200);
            Assert.Contains("error: Inference:StartupModels names 'nosuch'", service.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    [Fact]
    public async Task Poll_NewChangedAndRemovedModels_FollowTheRepository_UnderLoad()
    {
        await using var server = await ControlledServer.StartAsync("poll", startupModels: [], repository =>
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1))), pollSeconds: 1);
        await using var load = new SteadyLoad(server, clients: 8);
        await load.UntilServedAsync(version: "1", count: 50);

        // A new version appears, then the old one goes: the load never sees a failure.
        TestModels.AddModel(server.Repository, "offset", OffsetConfig, (2, TestModels.AddConstant(2)));
        await load.UntilServedAsync(version: "2", count: 50);
        Directory.Delete(Path.Combine(server.Repository, "offset", "1"), recursive: true);
        await server.UntilAsync(index => index.Where(e => e.Name == "offset").Select(e => e.Version).SequenceEqual(["2"]));

        // A new model loads; a changed config is served; a model that cannot load is shown with why.
        TestModels.AddModel(server.Repository, "pair", new { name = "pair" }, (1, TestModels.Pair()));
        TestModels.AddModel(server.Repository, "broken", """{"name":"broken","platform":"tensorflow"}""", (1, TestModels.Pair()));
        await server.UntilAsync(index => index.Any(e => e.Name == "pair" && e.State == "READY") && index.Any(e => e.Name == "broken" && e.State == "UNAVAILABLE"));
        Assert.Contains("tensorflow", (await server.IndexAsync()).Single(e => e.Name == "broken").Reason, StringComparison.Ordinal);

        var tagBefore = (await server.Client.GetAsync("/v2/models/pair")).Headers.ETag;
        await File.WriteAllTextAsync(Path.Combine(server.Repository, "pair", "config.json"), """{"name":"pair","postprocess":{"top_k":2}}""");
        await server.UntilAsync(async () =>
            JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/pair/config")).RootElement.TryGetProperty("postprocess", out _));
        Assert.NotEqual(tagBefore, (await server.Client.GetAsync("/v2/models/pair")).Headers.ETag);

        Directory.Delete(Path.Combine(server.Repository, "pair"), recursive: true);
        await server.UntilAsync(index => !index.Any(e => e.Name == "pair"));
        var (gone, _) = await PostJsonAsync(server.Client, "/v2/models/pair/infer", PairRequest);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        var results = await load.StopAsync();
        Assert.Empty(results.Failures);
    }

    [Fact]
    public async Task ConfigClient_FollowsAConfigReloadedUnderTheSameVersion()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: ["*"], repository =>
            TestModels.AddModel(repository, "offset", OffsetConfig, (1, TestModels.AddConstant(1))));
        var time = new ManualTime();
        var configs = new ModelConfigClient(server.Client, time);
        Assert.Null((await configs.GetAsync("offset", CancellationToken.None)).Postprocess);

        var overrideConfig = JsonSerializer.Serialize("""{"name":"offset","max_batch_size":8,"postprocess":{"top_k":2}}""");
        var loaded = await server.Client.PostAsync("/v2/repository/models/offset/load", Json($$$"""{"parameters":{"config":{{{overrideConfig}}}}}"""));
        Assert.Equal(HttpStatusCode.OK, loaded.StatusCode);
        time.Advance(ModelConfigClient.VersionRefreshInterval + TimeSpan.FromSeconds(1));

        var config = await configs.GetAsync("offset", CancellationToken.None);
        Assert.Equal(2, config.Postprocess!.Value.GetProperty("top_k").GetInt32());
    }

    private const string PairRequest = """{"inputs":[{"name":"a","datatype":"FP32","shape":[1,1],"data":[1]},{"name":"b","datatype":"FP32","shape":[1,1],"data":[2]}]}""";

    internal static string OffsetRequest(float x) =>
        $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[{{x.ToString(CultureInfo.InvariantCulture)}},0]}]}""";

    private static async Task AssertRefusedAsync(ControlledServer server, string path, string body, HttpStatusCode status, string fragment)
    {
        var response = await server.Client.PostAsync(path, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{path} {body}: {(int)response.StatusCode} {text}");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}

/// <summary>The inference service over a temporary repository in a model control mode, with its gRPC port.</summary>
public sealed class ControlledServer : IAsyncDisposable
{
    private ControlledServer(string repository, ServiceProcess service, GrpcEndpoint grpc)
    {
        Repository = repository;
        Service = service;
        Grpc = grpc;
    }

    public string Repository { get; }

    public ServiceProcess Service { get; }

    public GrpcEndpoint Grpc { get; }

    public HttpClient Client => Service.Client;

    public static async Task<ControlledServer> StartAsync(
        string mode, string[] startupModels, Action<string> fill, bool exitOnError = true, int pollSeconds = 15)
    {
        var repository = TestModels.CreateRepository();
        fill(repository);
        var grpc = new GrpcEndpoint();
        var environment = grpc.Environment();
        environment["Inference__ModelRepository"] = repository;
        environment["Inference__ModelControlMode"] = mode;
        environment["Inference__ExitOnError"] = exitOnError ? "true" : "false";
        environment["Inference__RepositoryPollSeconds"] = pollSeconds.ToString(CultureInfo.InvariantCulture);
        for (var i = 0; i < startupModels.Length; i++)
        {
            environment[$"Inference__StartupModels__{i}"] = startupModels[i];
        }

        try
        {
            return new ControlledServer(repository, await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", environment), grpc);
        }
        catch
        {
            grpc.Dispose();
            Directory.Delete(repository, recursive: true);
            throw;
        }
    }

    public async Task<IReadOnlyList<ModelIndexEntry>> IndexAsync(bool ready = false)
    {
        var response = await Client.PostAsync("/v2/repository/index", ProtocolHttp.Json(ready ? """{"ready":true}""" : ""));
        response.EnsureSuccessStatusCode();
        return JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ProtocolJsonContext.Default.IReadOnlyListModelIndexEntry)!;
    }

    public Task UntilAsync(Func<IReadOnlyList<ModelIndexEntry>, bool> condition) =>
        UntilAsync(async () => condition(await IndexAsync()));

    public async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 30 s; index: {JsonSerializer.Serialize(await IndexAsync())}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Grpc.Dispose();
        await Service.DisposeAsync();
        Directory.Delete(Repository, recursive: true);
    }
}

/// <summary>
/// Clients that call the <c>offset</c> model back to back, half over REST and half over gRPC, and keep every
/// answer that is not the right one: its value must be x plus the version that answered.
/// </summary>
internal sealed class SteadyLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _clients;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _failures = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _byVersion = new();

    public SteadyLoad(ControlledServer server, int clients)
    {
        _clients = new Task[clients];
        for (var i = 0; i < clients; i++)
        {
            var overGrpc = i % 2 == 1;
            _clients[i] = Task.Run(() => RunAsync(server, overGrpc));
        }
    }

    public async Task UntilServedAsync(string version, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var start = _byVersion.GetValueOrDefault(version);
        while (_byVersion.GetValueOrDefault(version) < start + count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"version {version} served {_byVersion.GetValueOrDefault(version) - start} of {count} in 30 s; failures: {string.Join(" | ", _failures.Take(5))}");
            await Task.Delay(50);
        }
    }

    public async Task<(IReadOnlyList<string> Failures, IReadOnlyDictionary<string, int> ByVersion)> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
        return ([.. _failures], new Dictionary<string, int>(_byVersion));
    }

    private async Task RunAsync(ControlledServer server, bool overGrpc)
    {
        var x = 0f;
        while (!_stop.IsCancellationRequested)
        {
            x++;
            try
            {
                var (version, y) = overGrpc ? await InferGrpcAsync(server, x) : await InferRestAsync(server, x);
                if (y != x + float.Parse(version, CultureInfo.InvariantCulture))
                {
                    _failures.Enqueue($"x={x}: version {version} answered {y}");
                }

                _byVersion.AddOrUpdate(version, 1, (_, n) => n + 1);
            }
            catch (Exception exception) when (!_stop.IsCancellationRequested)
            {
                _failures.Enqueue($"{(overGrpc ? "gRPC" : "REST")} x={x}: {exception.Message}");
            }
            catch (Exception)
            {
                // A call cut short by the stop is not the server's failure.
            }
        }
    }

    private static async Task<(string Version, float Y)> InferRestAsync(ControlledServer server, float x)
    {
        var (response, body) = await ProtocolHttp.PostJsonAsync(server.Client, "/v2/models/offset/infer", ModelControlTests.OffsetRequest(x));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"{(int)response.StatusCode}: {body.RootElement}");
        }

        var root = body.RootElement;
        return (root.GetProperty("model_version").GetString()!, root.GetProperty("outputs")[0].GetProperty("data")[0].GetSingle());
    }

    private static async Task<(string Version, float Y)> InferGrpcAsync(ControlledServer server, float x)
    {
        var request = new ModelInferRequest { ModelName = "offset" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32" };
        input.Shape.Add([1, 2]);
        input.Contents = new InferTensorContents();
        input.Contents.Fp32Contents.Add([x, 0]);
        request.Inputs.Add(input);
        var response = await server.Grpc.Client.ModelInferAsync(request);
        var y = BitConverter.ToSingle(response.RawOutputContents[0].Span[..4]);
        return (response.ModelVersion, y);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}
