using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>
/// The gateway in front of the real inference service serving the bundled digit model, with stand-ins for
/// pre- and postprocessing that speak the real codec: a tensor in, a binary V2 request out; a binary V2
/// response in, a label out.
/// </summary>
public sealed class RealInferenceFixture : IAsyncLifetime
{
    public ServiceProcess Inference { get; private set; } = null!;

    public StandIn Preprocessing { get; private set; } = null!;

    public StandIn Postprocessing { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    public HttpClient Client => Gateway.Client;

    public async Task InitializeAsync()
    {
        var inference = ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference");
        Preprocessing = await StandIn.StartAsync("preprocessing-0", (app, _) => app.MapPost("/v1/preprocess/{model}", PreprocessAsync));
        Postprocessing = await StandIn.StartAsync("postprocessing-0", (app, _) => app.MapPost("/v1/postprocess/{model}", Postprocess));
        Inference = await inference;
        Gateway = await GatewayProcess.StartAsync(new Dictionary<string, Uri[]>
        {
            ["preprocessing"] = [Preprocessing.Address],
            ["inference"] = [Inference.BaseAddress],
            ["postprocessing"] = [Postprocessing.Address],
        });
    }

    public async Task DisposeAsync()
    {
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Inference is not null)
        {
            await Inference.DisposeAsync();
        }

        await Preprocessing.DisposeAsync();
        await Postprocessing.DisposeAsync();
    }

    /// <summary>The held-out seven of <c>models/mnist/example-request.json</c>, as 784 floats.</summary>
    public static float[] ExampleSeven()
    {
        using var request = InferenceCodec.ReadRequest(File.ReadAllBytes(RepositoryPaths.InRoot("models", "mnist", "example-request.json")), null);
        return MemoryMarshal.Cast<byte, float>(request.Inputs[0].Data.Span).ToArray();
    }

    private static async Task<IResult> PreprocessAsync(string model, HttpContext context)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var pixels = body.RootElement.GetProperty("instances")[0].EnumerateArray().Select(p => p.GetSingle()).ToArray();
        using var request = new InferenceRequest
        {
            Id = context.Request.Headers["X-Request-Id"].ToString(),
            Parameters = new Dictionary<string, JsonElement> { [ProtocolParameters.BinaryDataOutput] = JsonSerializer.SerializeToElement(true) },
            Inputs = [CannedBodies.Tensor("input", [1, 1, 28, 28], pixels)],
        };
        using var writer = new PooledBufferWriter();
        var headerLength = InferenceCodec.WriteRequest(writer, request, binaryInputs: true)!.Value;
        return StandIn.Binary(writer.WrittenSpan.ToArray(), headerLength);
    }

    private static IResult Postprocess(string model, HttpContext context)
    {
        var body = ((MemoryStream)context.Request.Body).ToArray();
        int? headerLength = context.Request.Headers.TryGetValue(ProtocolParameters.HeaderContentLength, out var value)
            ? int.Parse(value.ToString(), CultureInfo.InvariantCulture)
            : null;
        using var response = InferenceCodec.ReadResponse(body, headerLength);
        var probabilities = MemoryMarshal.Cast<byte, float>(response.Outputs.Single(o => o.Name == "probabilities").Data.Span);
        var best = 0;
        for (var i = 1; i < probabilities.Length; i++)
        {
            if (probabilities[i] > probabilities[best])
            {
                best = i;
            }
        }

        return Results.Json(new
        {
            predictions = new[]
            {
                new { label = best.ToString(CultureInfo.InvariantCulture), score = probabilities[best], top_k = Array.Empty<object>() },
            },
        });
    }
}

public sealed class RealInferenceTests(RealInferenceFixture fixture) : IClassFixture<RealInferenceFixture>
{
    [Fact]
    public async Task Predict_HeldOutSeven_ThroughRealInference_LabelsItSeven()
    {
        var instances = JsonSerializer.Serialize(new { instances = new[] { RealInferenceFixture.ExampleSeven() } });

        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict("mnist", GatewayHttp.Json(instances)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var prediction = (await GatewayHttp.ReadJsonAsync(response)).GetProperty("predictions")[0];
        Assert.Equal("7", prediction.GetProperty("label").GetString());
        Assert.True(prediction.GetProperty("score").GetDouble() > 0.9);
    }

    [Fact]
    public async Task Predict_UnknownModel_InferenceRejection_PassesThe404On()
    {
        var instances = JsonSerializer.Serialize(new { instances = new[] { RealInferenceFixture.ExampleSeven() } });

        using var response = await fixture.Client.SendAsync(GatewayHttp.Predict("no-such-model", GatewayHttp.Json(instances)));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await GatewayHttp.ReadProblemAsync(response);
        Assert.Equal("inference", problem.GetProperty("hop").GetString());
        Assert.Contains("no-such-model", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task V2_ServerMetadata_ComesFromInference()
    {
        using var body = JsonDocument.Parse(await fixture.Client.GetStringAsync("/v2"));

        Assert.Equal("mlplatform", body.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task V2_ModelReady_Answers200()
    {
        using var response = await fixture.Client.GetAsync("/v2/models/mnist/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task V2_BinaryInfer_ThroughTheGateway_ClassifiesTheSeven()
    {
        using var request = new InferenceRequest
        {
            Parameters = new Dictionary<string, JsonElement> { [ProtocolParameters.BinaryDataOutput] = JsonSerializer.SerializeToElement(true) },
            Inputs = [CannedBodies.Tensor("input", [1, 1, 28, 28], RealInferenceFixture.ExampleSeven())],
        };
        using var writer = new PooledBufferWriter();
        var headerLength = InferenceCodec.WriteRequest(writer, request, binaryInputs: true)!.Value;
        var content = new ByteArrayContent(writer.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue(ProtocolParameters.BinaryContentType);
        content.Headers.Add(ProtocolParameters.HeaderContentLength, headerLength.ToString(CultureInfo.InvariantCulture));

        using var response = await fixture.Client.PostAsync("/v2/models/mnist/infer", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(GatewayHttp.Header(response, "X-Request-Id"));
        var responseHeaderLength = int.Parse(GatewayHttp.Header(response, ProtocolParameters.HeaderContentLength)!, CultureInfo.InvariantCulture);
        using var decoded = InferenceCodec.ReadResponse(await response.Content.ReadAsByteArrayAsync(), responseHeaderLength);
        var probabilities = MemoryMarshal.Cast<byte, float>(decoded.Outputs.Single(o => o.Name == "probabilities").Data.Span).ToArray();
        Assert.Equal(7, Array.IndexOf(probabilities, probabilities.Max()));
    }

    [Fact]
    public async Task V2_UnknownModel_ProtocolErrorPassesThroughUnchanged()
    {
        using var response = await fixture.Client.GetAsync("/v2/models/no-such-model");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
    }
}
