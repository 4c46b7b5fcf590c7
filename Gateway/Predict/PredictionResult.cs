using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Gateway.Http;

namespace MlPlatform.Gateway.Predict;

/// <summary>Postprocessing's answer, sent to the client as it came: the gateway never parses it.</summary>
internal sealed class PredictionResult(PooledBody body) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType => "application/json";

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(PredictResponse), ["application/json"]));

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using (body)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ContentType;
            response.ContentLength = body.Memory.Length;
            await response.Body.WriteAsync(body.Memory, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}

/// <summary>The shape of postprocessing's answer, for the OpenAPI document.</summary>
public sealed record PredictResponse(IReadOnlyList<Prediction> Predictions);

/// <summary>One instance's prediction: the best label, its score, and the best few.</summary>
public sealed record Prediction(string Label, double Score, [property: System.Text.Json.Serialization.JsonPropertyName("top_k")] IReadOnlyList<ScoredLabel> TopK);

public sealed record ScoredLabel(string Label, double Score);

/// <summary>The JSON form of a predict request: one entry per instance, in whatever form the model's preprocessing takes.</summary>
public sealed record PredictInstancesRequest(IReadOnlyList<System.Text.Json.JsonElement> Instances);
