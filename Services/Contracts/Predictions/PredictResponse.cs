using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlPlatform.Contracts.Predictions;

/// <summary>
/// The answer to a predict request, as postprocessing writes it and the gateway passes it on: one prediction per
/// instance, then which model and version made them. The field names are <see cref="PredictFields"/>, the one
/// place postprocessing's writer, the gateway's OpenAPI document and the try page take them from.
/// </summary>
public sealed record PredictResponse(
    [property: JsonPropertyName(PredictFields.Predictions)] IReadOnlyList<Prediction> Predictions,
    [property: JsonPropertyName(PredictFields.ModelName)] string ModelName,
    [property: JsonPropertyName(PredictFields.ModelVersion), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ModelVersion,
    [property: JsonPropertyName(PredictFields.Id), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id);

/// <summary>One instance's prediction: the best label, its score, and the best few, best first.</summary>
public sealed record Prediction(
    [property: JsonPropertyName(PredictFields.Label)] string Label,
    [property: JsonPropertyName(PredictFields.Score)] double Score,
    [property: JsonPropertyName(PredictFields.TopK)] IReadOnlyList<ScoredLabel> TopK);

/// <summary>A label and its score.</summary>
public sealed record ScoredLabel(
    [property: JsonPropertyName(PredictFields.Label)] string Label,
    [property: JsonPropertyName(PredictFields.Score)] double Score);

/// <summary>The JSON form of a predict request: one entry per instance, in whatever form the model's preprocessing takes.</summary>
public sealed record PredictInstancesRequest([property: JsonPropertyName("instances")] IReadOnlyList<JsonElement> Instances);

/// <summary>The field names of <see cref="PredictResponse"/>.</summary>
public static class PredictFields
{
    public const string Predictions = "predictions";
    public const string Label = "label";
    public const string Score = "score";
    public const string TopK = "top_k";
    public const string ModelName = "model_name";
    public const string ModelVersion = "model_version";
    public const string Id = "id";
}
