using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using MlPlatform.Inference.Grpc.Protos;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>Calls to the gateway's gRPC port, with a client generated from inference's own .proto.</summary>
internal static class GrpcCalls
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

    /// <summary>The metadata of a call: the key in <c>apikey</c>, as a REST client sends the header.</summary>
    public static Metadata Key(string? key = PolicySettings.AliceKey, string? requestId = null, string? traceParent = null)
    {
        var metadata = new Metadata();
        if (key is not null)
        {
            metadata.Add("apikey", key);
        }

        if (requestId is not null)
        {
            metadata.Add("x-request-id", requestId);
        }

        if (traceParent is not null)
        {
            metadata.Add("traceparent", traceParent);
        }

        return metadata;
    }

    public static GrpcChannel Channel(int port) => GrpcChannel.ForAddress(
        $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", new GrpcChannelOptions { MaxReceiveMessageSize = null });

    /// <summary>A unary method of any name, its messages as bytes, for paths the generated client has no method for.</summary>
    public static Method<byte[], byte[]> Raw(string service, string method) => new(MethodType.Unary, service, method, Bytes, Bytes);

    /// <summary>A client for requests that look at the answer's HTTP shape; send it <see cref="Http2Request"/>s.</summary>
    public static HttpClient Http(int port) => new()
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"),
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>An HTTP/2 request without TLS, as a gRPC client sends it (prior knowledge, no upgrade).</summary>
    public static HttpRequestMessage Http2Request(HttpMethod method, string path) =>
        new(method, path) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };

    /// <summary>A gRPC request as it goes over HTTP/2: an empty message in its five-byte frame.</summary>
    public static HttpRequestMessage EmptyCall(string path, string? key)
    {
        var content = new ByteArrayContent(new byte[5]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        var request = Http2Request(HttpMethod.Post, path);
        request.Content = content;
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("apikey", key);
        }

        return request;
    }

    /// <summary>Asserts a gRPC answer the gateway gave itself: HTTP 200, <c>application/grpc</c>, the status in the headers, no body.</summary>
    public static async Task AssertTrailersOnlyAsync(HttpResponseMessage response, StatusCode code)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(2, 0), response.Version);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(((int)code).ToString(CultureInfo.InvariantCulture), GatewayHttp.Header(response, "grpc-status"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Empty(response.TrailingHeaders);
    }

    public static string? Value(Metadata metadata, string key) => metadata.GetValue(key);
}

/// <summary>
/// The gateway's gRPC port in front of the real inference service, serving the bundled digit model over its own gRPC
/// port; key-auth and rate limits on, pre- and postprocessing stand-ins.
/// </summary>
public sealed class GrpcRealInferenceFixture : IAsyncLifetime
{
    public int InferenceGrpcPort { get; } = LoopbackPort.Free();

    public int GrpcPort { get; } = LoopbackPort.Free();

    public ServiceProcess Inference { get; private set; } = null!;

    public StandIn Upstream { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public GrpcChannel Direct { get; private set; } = null!;

    public GrpcChannel Through { get; private set; } = null!;

    public GRPCInferenceService.GRPCInferenceServiceClient DirectClient => new(Direct);

    public GRPCInferenceService.GRPCInferenceServiceClient Client => new(Through);

    public async Task InitializeAsync()
    {
        var inference = ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>
        {
            ["Inference__GrpcPort"] = InferenceGrpcPort.ToString(CultureInfo.InvariantCulture),
        });
        Upstream = await StandIn.StartAsync("upstream-0");
        Inference = await inference;

        var settings = PolicySettings.On();
        settings["Gateway__GrpcPort"] = GrpcPort.ToString(CultureInfo.InvariantCulture);
        settings["services__inference__grpc__0"] = $"http://127.0.0.1:{InferenceGrpcPort.ToString(CultureInfo.InvariantCulture)}";
        Gateway = await GatewayProcess.StartAsync(
            new Dictionary<string, Uri[]>
            {
                ["preprocessing"] = [Upstream.Address],
                ["inference"] = [Inference.BaseAddress],
                ["postprocessing"] = [Upstream.Address],
            },
            settings);
        Direct = GrpcCalls.Channel(InferenceGrpcPort);
        Through = GrpcCalls.Channel(GrpcPort);
    }

    public async Task DisposeAsync()
    {
        Direct?.Dispose();
        Through?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Inference is not null)
        {
            await Inference.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }
    }
}

public sealed class GrpcGatewayTests(GrpcRealInferenceFixture fixture) : IClassFixture<GrpcRealInferenceFixture>
{
    [Fact]
    public async Task ModelInfer_ValidKey_AnswersBitForBitWhatInferenceAnswers()
    {
        var request = new ModelInferRequest { ModelName = "mnist", Id = "seven" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
        input.Shape.Add([1, 1, 28, 28]);
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(RealInferenceFixture.ExampleSeven().AsSpan())));

        var direct = await fixture.DirectClient.ModelInferAsync(request);
        var through = await fixture.Client.ModelInferAsync(request, GrpcCalls.Key());

        Assert.Equal(direct.ToByteArray(), through.ToByteArray());
        Assert.Equal(("mnist", "seven"), (through.ModelName, through.Id));
        var probabilities = MemoryMarshal.Cast<byte, float>(through.RawOutputContents[0].Span).ToArray();
        Assert.Equal(7, Array.IndexOf(probabilities, probabilities.Max()));
    }

    [Fact]
    public async Task ModelMetadata_ValidKey_AnswersWhatInferenceAnswers()
    {
        var request = new ModelMetadataRequest { Name = "mnist" };

        var direct = await fixture.DirectClient.ModelMetadataAsync(request);
        var through = await fixture.Client.ModelMetadataAsync(request, GrpcCalls.Key());

        Assert.Equal(direct, through);
        Assert.Equal("mnist", through.Name);
        Assert.Equal([-1L, 1, 28, 28], Assert.Single(through.Inputs).Shape.ToArray());
    }

    [Fact]
    public async Task ModelMetadata_UnknownModel_InferencesNotFoundPassesThrough()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "no-such-model" }, GrpcCalls.Key()).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("no-such-model", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task Call_WithoutKey_UnauthenticatedWithKongsMessage(string? key)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(key)).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("No API key found in request", error.Status.Detail);
    }

    [Fact]
    public async Task Call_WrongKey_UnauthenticatedWithKongsMessage()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key("not-a-key-anyone-has")).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("Unauthorized", error.Status.Detail);
    }

    [Fact]
    public async Task Call_TwoDifferentKeys_Unauthenticated()
    {
        var metadata = GrpcCalls.Key();
        metadata.Add("apikey", PolicySettings.BobKey);

        var error = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.ServerLiveAsync(new ServerLiveRequest(), metadata).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("Unauthorized", error.Status.Detail);
    }

    [Fact]
    public async Task Refusal_IsAGrpcAnswer_Http200TrailersOnly()
    {
        using var http = GrpcCalls.Http(fixture.GrpcPort);
        using var request = GrpcCalls.EmptyCall("/inference.GRPCInferenceService/ServerLive", key: null);
        request.Headers.Add("X-Request-Id", "trailers-only-1");

        using var response = await http.SendAsync(request);

        await GrpcCalls.AssertTrailersOnlyAsync(response, StatusCode.Unauthenticated);
        Assert.Equal("No API key found in request", GatewayHttp.Header(response, "grpc-message"));
        Assert.Equal("trailers-only-1", GatewayHttp.Header(response, "X-Request-Id"));
        Assert.Null(GatewayHttp.Header(response, "WWW-Authenticate"));
    }

    [Fact]
    public async Task Call_WithRequestId_EchoedInTheResponseMetadata()
    {
        using var call = fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(requestId: "grpc-request-1"));

        var headers = await call.ResponseHeadersAsync;

        Assert.True((await call.ResponseAsync).Live);
        Assert.Equal("grpc-request-1", GrpcCalls.Value(headers, "x-request-id"));
    }

    [Fact]
    public async Task Call_WithoutRequestId_GetsANewOne()
    {
        using var call = fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key());

        var headers = await call.ResponseHeadersAsync;

        Assert.True(Guid.TryParse(GrpcCalls.Value(headers, "x-request-id"), out _));
    }

    [Fact]
    public async Task Refusal_WithRequestId_EchoedInTheTrailers()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(key: null, requestId: "refused-1")).ResponseAsync);

        Assert.Equal("refused-1", GrpcCalls.Value(error.Trailers, "x-request-id"));
    }

    [Fact]
    public async Task UnknownMethodOfTheService_UnimplementedFromInference()
    {
        var invoker = fixture.Through.CreateCallInvoker();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(GrpcCalls.Raw("inference.GRPCInferenceService", "NoSuchMethod"), null, new CallOptions(GrpcCalls.Key()), []).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    /// <summary>Model control is for operators on inference itself: a key to predict must not unload the model.</summary>
    [Theory]
    [InlineData("RepositoryModelLoad")]
    [InlineData("RepositoryModelUnload")]
    public async Task ModelControl_ThroughTheGateway_UnimplementedAndNeverForwarded(string method)
    {
        var invoker = fixture.Through.CreateCallInvoker();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(GrpcCalls.Raw("inference.GRPCInferenceService", method), null, new CallOptions(GrpcCalls.Key()), []).ResponseAsync);

        // Inference itself answers FAILED_PRECONDITION in its default mode: this status is the gateway's.
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Theory]
    [InlineData("grpc.health.v1.Health", "Check")]
    [InlineData("v2", "models")]
    [InlineData("inference.GRPCInferenceServiceX", "ServerLive")]
    public async Task UnknownService_UnimplementedFromTheGateway(string service, string method)
    {
        var invoker = fixture.Through.CreateCallInvoker();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(GrpcCalls.Raw(service, method), null, new CallOptions(GrpcCalls.Key()), []).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.Contains($"/{service}/{method}", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("inference.GRPCInferenceService", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/v2/models/mnist")]
    [InlineData("GET", "/v2")]
    [InlineData("POST", "/v1/models/mnist:predict")]
    [InlineData("GET", "/v1/models/mnist:predict")]
    [InlineData("GET", "/preprocess/v1/anything")]
    [InlineData("GET", "/health")]
    [InlineData("GET", "/alive")]
    [InlineData("GET", "/metrics")]
    [InlineData("GET", "/docs")]
    [InlineData("GET", "/openapi/v1.json")]
    [InlineData("GET", "/try")]
    [InlineData("GET", "/")]
    public async Task RestPath_OnTheGrpcPort_Unimplemented(string method, string path)
    {
        var marker = Guid.NewGuid().ToString();
        using var http = GrpcCalls.Http(fixture.GrpcPort);
        using var request = GrpcCalls.Http2Request(new HttpMethod(method), path);
        request.Headers.TryAddWithoutValidation("apikey", PolicySettings.AliceKey);
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await http.SendAsync(request);

        await GrpcCalls.AssertTrailersOnlyAsync(response, StatusCode.Unimplemented);
        Assert.Empty(fixture.Upstream.WithMarker(marker));
    }

    [Fact]
    public async Task Http11_OnTheGrpcPort_IsNotServed()
    {
        using var http = GrpcCalls.Http(fixture.GrpcPort);

        var refused = false;
        try
        {
            using var response = await http.GetAsync("/health");
            Assert.Equal(new Version(1, 1), response.Version);
            refused = !response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            refused = true;
        }

        Assert.True(refused, "the gRPC port answered an HTTP/1.1 request");
    }

    [Fact]
    public async Task GrpcMethod_OnTheRestPort_404AndNeverForwarded()
    {
        using var request = GrpcCalls.EmptyCall("/inference.GRPCInferenceService/ServerLive", PolicySettings.AliceKey);
        // The REST port speaks HTTP/1.1 (cleartext HTTP/2 needs a port of its own): the path alone must not reach the gRPC route.
        request.Version = HttpVersion.Version11;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;

        using var response = await fixture.Gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
    }

    [Fact]
    public async Task GrpcClient_OnTheRestPort_GetsNoAnswer()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Gateway.BaseAddress);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            new GRPCInferenceService.GRPCInferenceServiceClient(channel).ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key()).ResponseAsync);

        Assert.NotEqual(StatusCode.OK, error.StatusCode);
    }

    [Fact]
    public async Task RestRoutes_StillServedOnTheRestPort()
    {
        using var response = await fixture.Gateway.Client.SendAsync(PolicySettings.Get("/v2/models/mnist"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mnist", (await GatewayHttp.ReadJsonAsync(response)).GetProperty("name").GetString());
    }
}

/// <summary>
/// The gateway's gRPC port in front of a gRPC stand-in that records the metadata it receives, with a yearly limit of
/// <see cref="YearLimit"/> requests per consumer that REST and gRPC calls share, and a 1 s timeout on route group grpc.
/// </summary>
public sealed class GrpcStandInFixture : IAsyncLifetime
{
    public const int YearLimit = 6;

    public int GrpcPort { get; } = LoopbackPort.Free();

    public GrpcStandIn Inference { get; private set; } = null!;

    public StandIn Upstream { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public GRPCInferenceService.GRPCInferenceServiceClient Client => new(Channel);

    public async Task InitializeAsync()
    {
        Inference = await GrpcStandIn.StartAsync();
        Upstream = await StandIn.StartAsync("upstream-0");
        var settings = PolicySettings.On();
        settings["Gateway__RateLimiting__Year"] = YearLimit.ToString(CultureInfo.InvariantCulture);
        settings["Gateway__RouteGroups__grpc__Timeout"] = "00:00:01";
        settings["Gateway__GrpcPort"] = GrpcPort.ToString(CultureInfo.InvariantCulture);
        settings["services__inference__grpc__0"] = Inference.Address.ToString().TrimEnd('/');
        Gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(Upstream), settings);
        Channel = GrpcCalls.Channel(GrpcPort);
    }

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        if (Inference is not null)
        {
            await Inference.DisposeAsync();
        }
    }
}

/// <summary>What the gRPC route passes on and what it counts. Alice's calls are the rate-limit test's alone; the others use Bob's key.</summary>
public sealed class GrpcGatewayPolicyTests(GrpcStandInFixture fixture) : IClassFixture<GrpcStandInFixture>
{
    /// <summary>With keys on and the gRPC route mapped: a valid key does not make the management port forward anything.</summary>
    [Theory]
    [InlineData("/inference.GRPCInferenceService/ServerLive")]
    [InlineData("/inference.GRPCInferenceService/ModelInfer")]
    public async Task GrpcMethod_OnTheManagementPortWithAValidKey_404AndNeverForwarded(string path)
    {
        var id = "management-" + Guid.NewGuid();
        using var request = GrpcCalls.EmptyCall(path, PolicySettings.BobKey);
        request.Version = HttpVersion.Version11;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        request.Headers.Add("X-Request-Id", id);

        using var response = await fixture.Gateway.ManagementClient.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
        Assert.Empty(fixture.Inference.WithRequestId(id));
    }

    [Fact]
    public async Task RestRoute_OnTheManagementPortWithAValidKey_404AndNeverForwarded()
    {
        var marker = Guid.NewGuid().ToString();
        using var request = PolicySettings.Get("/v2/models/mnist", PolicySettings.BobKey);
        request.Headers.Add(StandIn.MarkerHeader, marker);

        using var response = await fixture.Gateway.ManagementClient.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await GatewayHttp.ReadProblemAsync(response);
        Assert.Empty(fixture.Upstream.WithMarker(marker));
    }

    [Fact]
    public async Task Health_OnTheManagementPort_NeedsNoKey()
    {
        using var response = await fixture.Gateway.ManagementClient.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Call_ReachesInferenceWithTheConsumerAndRequestId_NeverTheKey()
    {
        var id = "consumer-" + Guid.NewGuid();

        var metadata = await fixture.Client.ServerMetadataAsync(new ServerMetadataRequest(), GrpcCalls.Key(PolicySettings.BobKey, requestId: id));

        Assert.Equal(GrpcStandIn.ServerName, metadata.Name);
        var received = Assert.Single(fixture.Inference.WithRequestId(id));
        Assert.Equal("/inference.GRPCInferenceService/ServerMetadata", received.Method);
        Assert.Equal("bob-id", received["x-consumer-id"]);
        Assert.Equal("bob", received["x-consumer-username"]);
        Assert.Null(received["apikey"]);
    }

    [Fact]
    public async Task Call_WithTraceParent_InferenceGetsTheSameTraceUnderTheGatewaysSpan()
    {
        var id = "trace-" + Guid.NewGuid();
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var clientSpan = ActivitySpanId.CreateRandom().ToHexString();

        await fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(PolicySettings.BobKey, id, $"00-{traceId}-{clientSpan}-01"));

        var parts = Assert.Single(fixture.Inference.WithRequestId(id))["traceparent"]!.Split('-');
        Assert.Equal(traceId, parts[1]);
        Assert.NotEqual(clientSpan, parts[2]);
    }

    [Fact]
    public async Task Call_PastTheGroupsTimeout_DeadlineExceededNamingTheSetting()
    {
        var started = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Client.ModelReadyAsync(new ModelReadyRequest { Name = "hang" }, GrpcCalls.Key(PolicySettings.BobKey, requestId: "timeout-1")).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("Gateway:RouteGroups:grpc:Timeout", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("timeout-1", GrpcCalls.Value(error.Trailers, "x-request-id"));
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task RestAndGrpc_ShareTheConsumersCount_OverItResourceExhaustedWithKongsMessage()
    {
        var half = GrpcStandInFixture.YearLimit / 2;
        for (var i = 0; i < half; i++)
        {
            using var rest = await fixture.Gateway.Client.SendAsync(PolicySettings.Get("/v2/models"));
            Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
            Assert.True((await fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key())).Live);
        }

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Client.ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(requestId: "over-the-limit")).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("API rate limit exceeded", error.Status.Detail);
        var limit = GrpcStandInFixture.YearLimit.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(limit, GrpcCalls.Value(error.Trailers, "x-ratelimit-limit-year"));
        Assert.Equal("0", GrpcCalls.Value(error.Trailers, "x-ratelimit-remaining-year"));
        Assert.Equal(limit, GrpcCalls.Value(error.Trailers, "ratelimit-limit"));
        Assert.Equal("0", GrpcCalls.Value(error.Trailers, "ratelimit-remaining"));
        Assert.True(long.Parse(GrpcCalls.Value(error.Trailers, "retry-after")!, CultureInfo.InvariantCulture) > 0);
        Assert.Equal("over-the-limit", GrpcCalls.Value(error.Trailers, "x-request-id"));
        // The refused call never reached inference; the REST count ran out with the gRPC one.
        Assert.Equal(half, fixture.Inference.Calls.Count(c => c["x-consumer-id"] == "alice-id"));
        using var refused = await fixture.Gateway.Client.SendAsync(PolicySettings.Get("/v2/models"));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
    }
}

/// <summary>A gateway whose gRPC destination accepts no connection, as when every inference replica is down.</summary>
public sealed class GrpcUnreachableInferenceTests
{
    [Fact]
    public async Task Call_InferenceUnreachable_UnavailableNamingInference()
    {
        await using var upstream = await StandIn.StartAsync("upstream-0");
        var grpcPort = LoopbackPort.Free();
        var settings = PolicySettings.On();
        settings["Gateway__GrpcPort"] = grpcPort.ToString(CultureInfo.InvariantCulture);
        settings["services__inference__grpc__0"] = GatewayProcess.ClosedAddress().ToString().TrimEnd('/');
        await using var gateway = await GatewayProcess.StartAsync(GatewayProcess.AllServices(upstream), settings);
        using var channel = GrpcCalls.Channel(grpcPort);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            new GRPCInferenceService.GRPCInferenceServiceClient(channel).ServerLiveAsync(new ServerLiveRequest(), GrpcCalls.Key(requestId: "down-1")).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.StartsWith("inference is unavailable", error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("down-1", GrpcCalls.Value(error.Trailers, "x-request-id"));
    }

    [Fact]
    public async Task Start_GrpcPortWithoutInferencesGrpcEndpoint_ExitsNamingTheKey()
    {
        var environment = GatewayProcess.Environment(GatewayProcess.AllServices(), new Dictionary<string, string?>
        {
            ["services__preprocessing__http__0"] = "http://127.0.0.1:1",
            ["services__inference__http__0"] = "http://127.0.0.1:1",
            ["services__postprocessing__http__0"] = "http://127.0.0.1:1",
            ["Gateway__GrpcPort"] = LoopbackPort.Free().ToString(CultureInfo.InvariantCulture),
        });
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", environment);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("error: services:inference:grpc:0 is missing", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
    }
}
