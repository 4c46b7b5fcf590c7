using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlPlatform.Contracts.Protocol;

/// <summary><c>GET /v2</c>.</summary>
public sealed record ServerMetadataResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("extensions")] IReadOnlyList<string> Extensions);

/// <summary><c>GET /v2/models/{name}[/versions/{version}]</c>.</summary>
public sealed record ModelMetadataResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("versions")] IReadOnlyList<string> Versions,
    [property: JsonPropertyName("platform")] string Platform,
    [property: JsonPropertyName("inputs")] IReadOnlyList<TensorMetadata> Inputs,
    [property: JsonPropertyName("outputs")] IReadOnlyList<TensorMetadata> Outputs);

/// <summary>An input or output as metadata describes it; -1 marks a dynamic dimension.</summary>
public sealed record TensorMetadata(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("datatype")] string DataType,
    [property: JsonPropertyName("shape")] IReadOnlyList<long> Shape);

/// <summary>Every protocol error: <c>{"error": "..."}</c>.</summary>
public sealed record InferenceErrorResponse([property: JsonPropertyName("error")] string Error);

/// <summary>
/// The state of one model version, as <c>POST /v2/repository/index</c> lists it (Triton's model repository extension):
/// <c>READY</c>, <c>LOADING</c> or <c>UNAVAILABLE</c> with the reason. A model with no version loaded has version "".
/// </summary>
public sealed record ModelIndexEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary>The body of <c>POST /v2/repository/index</c>, all of it optional.</summary>
public sealed record RepositoryIndexQuery([property: JsonPropertyName("ready")] bool Ready = false);

/// <summary>
/// The body of <c>POST /v2/repository/models/{name}/load</c> and <c>/unload</c>, optional. On load, the
/// parameter <c>config</c> is a model config as a JSON string, used in place of the folder's <c>config.json</c>.
/// </summary>
public sealed record ModelControlRequest(
    [property: JsonPropertyName("parameters")] IReadOnlyDictionary<string, JsonElement>? Parameters = null);
