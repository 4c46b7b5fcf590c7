using System.Net;
using System.Text.Json;
using MlPlatform.OnnxWriter;
using static MlPlatform.Inference.Tests.ProtocolHttp;

namespace MlPlatform.Inference.Tests;

/// <summary>
/// Warm-up as Triton's <c>model_warmup</c>: the samples a config lists run before the model serves, and fail its
/// load naming the sample; with none listed, the server's own run on zeros never keeps a valid model from loading.
/// </summary>
public sealed class WarmUpTests
{
    private const string RangeRequest = """{"inputs":[{"name":"delta","datatype":"INT64","shape":[],"data":[2]}]}""";

    [Fact]
    public async Task ModelThatFailsOnZeros_LoadsAndServesWithNoConfigChange()
    {
        await using var server = await ControlledServer.StartAsync("none", startupModels: [], repository =>
            TestModels.AddModel(repository, "range", new { name = "range" }, (1, RangeModel())));

        var (response, body) = await PostJsonAsync(server.Client, "/v2/models/range/infer", RangeRequest);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([0L, 2, 4, 6, 8], body.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Contains("Warm-up of model range version 1 on invented inputs failed", server.Service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfiguredSample_ThatTheModelFails_FailsTheLoadNamingTheSampleAndTheError()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: [], repository =>
            TestModels.AddModel(repository, "range", new { name = "range" }, (1, RangeModel())));

        var error = await LoadAsync(server, "range", new { name = "range", model_warmup = new[] { Sample("zeros", new { zero_data = true }) } }, HttpStatusCode.BadRequest);

        Assert.Contains("model_warmup[0]", error, StringComparison.Ordinal);
        Assert.Contains("'zeros'", error, StringComparison.Ordinal);
        Assert.Contains("delta", error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(await server.IndexAsync(), e => e.Name == "range" && e.State == "UNAVAILABLE" && e.Reason!.Contains("'zeros'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConfiguredSample_FromAFile_WarmsUpAndTheModelServes()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: [], repository =>
        {
            TestModels.AddModel(repository, "range", new { name = "range" }, (1, RangeModel()));
            Directory.CreateDirectory(Path.Combine(repository, "range", "warmup"));
            File.WriteAllBytes(Path.Combine(repository, "range", "warmup", "one.bin"), BitConverter.GetBytes(1L));
        });

        await LoadAsync(server, "range", new
        {
            name = "range",
            model_warmup = new[] { Sample("one", new { data_type = "TYPE_INT64", dims = Array.Empty<long>(), input_data_file = "one.bin" }, count: 3) },
        }, HttpStatusCode.OK);

        var (response, _) = await PostJsonAsync(server.Client, "/v2/models/range/infer", RangeRequest);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task BatchedModel_RandomAndZeroSamples_WarmUpAndServe()
    {
        await using var server = await ControlledServer.StartAsync("explicit", startupModels: [], repository =>
            TestModels.AddModel(repository, "offset", new { name = "offset", max_batch_size = 8 }, (1, TestModels.AddConstant(1))));

        await LoadAsync(server, "offset", new
        {
            name = "offset",
            max_batch_size = 8,
            model_warmup = new object[]
            {
                new { name = "random", batch_size = 8, count = 2, inputs = new { x = new { data_type = "FP32", dims = new[] { 2 }, random_data = true } } },
                new { name = "zeros", batch_size = 1, inputs = new { x = new { zero_data = true } } },
            },
        }, HttpStatusCode.OK);

        var (response, _) = await PostJsonAsync(server.Client, "/v2/models/offset/infer", ModelControlTests.OffsetRequest(1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>
    /// 0 to 10 by the step it is given: ONNX Runtime refuses a step of 0, which is what a warm-up on zeros sends.
    /// </summary>
    private static OnnxGraphBuilder RangeModel() => new OnnxGraphBuilder("range")
        .Input("delta", OnnxElementType.Int64)
        .Output("range", OnnxElementType.Int64, -1)
        .Initializer("start", [], [0L])
        .Initializer("limit", [], [10L])
        .Node("Range", ["start", "limit", "delta"], ["range"]);

    private static object Sample(string name, object delta, int count = 0) =>
        new { name, batch_size = 1, count, inputs = new { delta } };

    internal static async Task<string> LoadAsync(ControlledServer server, string model, object config, HttpStatusCode expected)
    {
        var configText = config as string ?? JsonSerializer.Serialize(config);
        var body = JsonSerializer.Serialize(new { parameters = new { config = configText } });
        var response = await server.Client.PostAsync($"/v2/repository/models/{model}/load", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        return text.Length == 0 ? "" : JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
    }
}

/// <summary>Warm-up samples a load refuses before any runs, each problem named by its field; the model served before stays.</summary>
public sealed class MalformedWarmUpTests(MalformedWarmUpTests.ServerFixture fixture) : IClassFixture<MalformedWarmUpTests.ServerFixture>
{
    public static TheoryData<string, string> MalformedSamples() => new()
    {
        { """[{"name":"s","batch_size":0,"inputs":{"x":{"zero_data":true}}}]""", "model_warmup[0].batch_size' is 0" },
        { """[{"name":"s","batch_size":9,"inputs":{"x":{"zero_data":true}}}]""", "model_warmup[0].batch_size' is 9" },
        { """[{"name":"s","count":-1,"inputs":{"x":{"zero_data":true}}}]""", "model_warmup[0].count' is -1" },
        { """[{"name":"","inputs":{"x":{"zero_data":true}}}]""", "model_warmup[0].name' is empty" },
        { """[{"name":"s","inputs":{}}]""", "model_warmup[0].inputs' is empty" },
        { """[{"name":"s","inputs":{"x":{"zero_data":true,"random_data":true}}}]""", "model_warmup[0].inputs.x' sets 2" },
        { """[{"name":"s","inputs":{"x":{}}}]""", "model_warmup[0].inputs.x' sets 0" },
        { """[{"name":"s","inputs":{"x":{"input_data_file":"../../../etc/passwd"}}}]""", "model_warmup[0].inputs.x.input_data_file' is '../../../etc/passwd'" },
        { """[{"name":"s","inputs":{"x":{"input_data_file":"/etc/passwd"}}}]""", "model_warmup[0].inputs.x.input_data_file' is '/etc/passwd'" },
        { """[{"name":"s","inputs":{"x":{"input_data_file":"absent.bin"}}}]""", "model_warmup[0].inputs.x.input_data_file': " },
        { """[{"name":"s","inputs":{"x":{"data_type":"FLOAT","zero_data":true}}}]""", "model_warmup[0].inputs.x.data_type' is 'FLOAT'" },
        { """[{"name":"s","inputs":{"x":{"data_type":"TYPE_INT8","zero_data":true}}}]""", "inputs.x.data_type': is TYPE_INT8, but the model's input 'x' is FP32" },
        { """[{"name":"s","inputs":{"x":{"dims":[3],"zero_data":true}}}]""", "inputs.x.dims': [3] does not fit" },
        { """[{"name":"s","inputs":{"x":{"dims":[-2],"zero_data":true}}}]""", "inputs.x.dims' holds a negative dimension" },
        { """[{"name":"s","inputs":{"x":{"zero_data":true},"y":{"zero_data":true}}}]""", "inputs.y': the model has no input 'y'" },
        { """[{"name":"s","inputs":{"y":{"zero_data":true}}}]""", "inputs': lacks the model's input 'x'" },
        { """[{"name":"s","inputs":{"x":{"zero_data":true}},"colour":1}]""", "model_warmup[0].colour" },
    };

    [Theory]
    [MemberData(nameof(MalformedSamples))]
    public async Task MalformedSample_IsRefusedNamingTheField(string samples, string expected)
    {
        var server = fixture.Server;
        var config = $$"""{"name":"offset","max_batch_size":8,"model_warmup":{{samples}}}""";

        var error = await WarmUpTests.LoadAsync(server, "offset", config, HttpStatusCode.BadRequest);

        Assert.Contains(expected, error, StringComparison.Ordinal);
        // The version served before the refused load still serves.
        var (response, _) = await PostJsonAsync(server.Client, "/v2/models/offset/infer", ModelControlTests.OffsetRequest(1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>One server for every case: a refused load leaves it as it was.</summary>
    public sealed class ServerFixture : IAsyncLifetime
    {
        public ControlledServer Server { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Server = await ControlledServer.StartAsync("explicit", startupModels: ["*"], repository =>
                TestModels.AddModel(repository, "offset", new { name = "offset", max_batch_size = 8 }, (1, TestModels.AddConstant(1))));

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }
}
