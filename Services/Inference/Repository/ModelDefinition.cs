using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Repository;

/// <summary>A model folder of the repository as read from disk, before any session is created.</summary>
/// <param name="Versions">Version numbers, highest first, with the path of each <c>model.onnx</c>.</param>
internal sealed record ModelDefinition(
    string Name,
    string Directory,
    string ConfigPath,
    ModelConfig Config,
    IReadOnlyList<(long Version, string ModelPath)> Versions);
