using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Gateway.Tests;

/// <summary>One request a stand-in received, as it arrived.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string RawTarget,
    string? RequestId,
    string? TraceParent,
    string? Marker,
    string? ContentType,
    string? InferenceHeaderLength,
    byte[] Body,
    IReadOnlyDictionary<string, string> Headers,
    string Query);

/// <summary>
/// A replica of a backend service played by a real Kestrel app on a free loopback port. It records every
/// request, answers <c>/health</c> as told, and plays preprocessing, inference and postprocessing at once
/// (the path says which), with model names that ask for errors: <c>reject</c>, <c>unknown-model</c>,
/// <c>hang</c>, <c>flaky</c> (replicas named <c>*-0</c> fail with 500), <c>overloaded</c>, <c>badshape</c>,
/// <c>postfail</c>. Any other path is echoed back as JSON.
/// </summary>
public sealed class StandIn : IAsyncDisposable
{
    public const string MarkerHeader = "X-Test-Marker";

    private readonly WebApplication _app;
    private volatile bool _healthy = true;
    private bool _stopped;

    private StandIn(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    public string Name { get; }

    public Uri Address { get; private set; } = null!;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Whether <c>/health</c> answers 200 (or 503).</summary>
    public bool Healthy
    {
        get => _healthy;
        set => _healthy = value;
    }

    public IEnumerable<RecordedRequest> WithRequestId(string requestId) => Requests.Where(r => r.RequestId == requestId);

    public IEnumerable<RecordedRequest> WithMarker(string marker) => Requests.Where(r => r.Marker == marker);

    public static async Task<StandIn> StartAsync(string name, Action<WebApplication, StandIn>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var standIn = new StandIn(name, app);

        app.Use(async (context, next) =>
        {
            await standIn.RecordAsync(context);
            await next(context);
        });
        app.MapGet("/health", () => standIn.Healthy ? Results.Text("Healthy") : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
        (map ?? MapServices)(app, standIn);
        app.MapFallback(context => Results.Json(new
        {
            service = standIn.Name,
            method = context.Request.Method,
            path = context.Request.Path.Value,
            query = context.Request.QueryString.Value,
            bodyLength = context.Request.Body.Length,
        }).ExecuteAsync(context));

        await app.StartAsync();
        standIn.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        return standIn;
    }

    /// <summary>Stops listening, as a replica that died: connections to its port are refused from now on.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }

    private async Task RecordAsync(HttpContext context)
    {
        var request = context.Request;
        var body = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(body, context.RequestAborted);
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // A body the gateway cut off still counts as a request that reached this replica.
        }

        Requests.Enqueue(new RecordedRequest(
            request.Method,
            request.Path.Value ?? "",
            context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "",
            Header(request, "X-Request-Id"),
            Header(request, "traceparent"),
            Header(request, MarkerHeader),
            request.ContentType,
            Header(request, ProtocolParameters.HeaderContentLength),
            body.ToArray(),
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            request.QueryString.Value ?? ""));
        body.Position = 0;
        request.Body = body;
    }

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;

    /// <summary>The routes every stand-in plays unless told otherwise; a custom map may add its own and call this.</summary>
    public static void MapServices(WebApplication app, StandIn self)
    {
        app.MapPost("/v1/preprocess/{model}", async (string model, HttpContext context) =>
        {
            switch (model)
            {
                case "reject":
                    return Problem(StatusCodes.Status400BadRequest, "Unsupported image", "the body is not a PNG, JPEG, WebP or BMP image");
                case "unknown-model":
                    return Problem(StatusCodes.Status404NotFound, "Unknown model", "model 'unknown-model' is not in the repository");
                case "hang":
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    return Results.Ok();
                case "flaky" when self.Name.EndsWith("-0", StringComparison.Ordinal):
                    return Problem(StatusCodes.Status500InternalServerError, "Internal error", "something broke");
                default:
                    return Binary(CannedBodies.Request, CannedBodies.RequestHeaderLength);
            }
        });

        app.MapPost("/v2/models/{model}/infer", (string model, HttpContext context) => model switch
        {
            "overloaded" => Overloaded(context),
            "badshape" => Results.Json(new { error = "input 'input': shape [1,3] does not match [-1,1,28,28]" }, statusCode: StatusCodes.Status400BadRequest),
            _ => Binary(CannedBodies.Response, CannedBodies.ResponseHeaderLength),
        });

        app.MapPost("/v1/postprocess/{model}", (string model) => model switch
        {
            "postfail" => Problem(422, "Unusable inference response", "output 'probabilities' is missing"),
            _ => Results.Text(CannedBodies.Predictions, "application/json"),
        });
    }

    private static IResult Overloaded(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "3";
        return Results.Json(new { error = "model 'overloaded' is busy: its queue is full" }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail, statusCode: status, title: title);

    public static IResult Binary(byte[] body, int headerLength) => new BinaryResult(body, headerLength);

    private sealed class BinaryResult(byte[] body, int headerLength) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = ProtocolParameters.BinaryContentType;
            httpContext.Response.Headers[ProtocolParameters.HeaderContentLength] = headerLength.ToString(CultureInfo.InvariantCulture);
            httpContext.Response.ContentLength = body.Length;
            return httpContext.Response.Body.WriteAsync(body).AsTask();
        }
    }
}

/// <summary>Bodies the real codec wrote, so what passes through the gateway is what the services really send.</summary>
public static class CannedBodies
{
    public const string Predictions = """{"predictions":[{"label":"7","score":0.98,"top_k":[{"label":"7","score":0.98},{"label":"1","score":0.01}]}]}""";

    public static readonly byte[] Request;
    public static readonly int RequestHeaderLength;
    public static readonly byte[] Response;
    public static readonly int ResponseHeaderLength;

    static CannedBodies()
    {
        var pixels = new float[28 * 28];
        pixels[300] = 1f;
        using var request = new InferenceRequest
        {
            Id = "stand-in",
            Parameters = new Dictionary<string, JsonElement> { [ProtocolParameters.BinaryDataOutput] = JsonSerializer.SerializeToElement(true) },
            Inputs = [Tensor("input", [1, 1, 28, 28], pixels)],
        };
        (Request, RequestHeaderLength) = Write(writer => InferenceCodec.WriteRequest(writer, request, binaryInputs: true));

        float[] probabilities = [0.001f, 0.01f, 0.001f, 0.001f, 0.001f, 0.001f, 0.001f, 0.98f, 0.002f, 0.002f];
        using var response = new InferenceResponse { ModelName = "mnist", ModelVersion = "1", Outputs = [Tensor("probabilities", [1, 10], probabilities)] };
        (Response, ResponseHeaderLength) = Write(writer => InferenceCodec.WriteResponse(writer, response, _ => true));
    }

    public static InferenceTensor Tensor(string name, long[] shape, float[] values) => new()
    {
        Name = name,
        DataType = TensorDataType.Fp32,
        Shape = shape,
        Data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
    };

    private static (byte[] Body, int HeaderLength) Write(Func<PooledBufferWriter, int?> write)
    {
        using var writer = new PooledBufferWriter();
        var headerLength = write(writer) ?? throw new InvalidOperationException("Expected a binary body.");
        return (writer.WrittenSpan.ToArray(), headerLength);
    }
}
