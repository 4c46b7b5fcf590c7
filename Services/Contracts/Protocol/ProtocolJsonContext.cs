using System.Text.Json.Serialization;

namespace MlPlatform.Contracts.Protocol;

/// <summary>Source-generated JSON for every protocol type that is not a tensor body.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ServerMetadataResponse))]
[JsonSerializable(typeof(ModelMetadataResponse))]
[JsonSerializable(typeof(InferenceErrorResponse))]
[JsonSerializable(typeof(ModelIndexEntry[]))]
[JsonSerializable(typeof(IReadOnlyList<ModelIndexEntry>))]
[JsonSerializable(typeof(RepositoryIndexQuery))]
[JsonSerializable(typeof(ModelControlRequest))]
[JsonSerializable(typeof(ModelConfig))]
[JsonSerializable(typeof(ModelStatisticsResponse))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext;
