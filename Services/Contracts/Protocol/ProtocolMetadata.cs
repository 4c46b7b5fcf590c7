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

/// <summary>The readiness of one model version, as <c>GET /v2/repository/index</c> lists it.</summary>
public sealed record ModelIndexEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("state")] string State);
