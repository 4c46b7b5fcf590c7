using System.Runtime.CompilerServices;
using System.Text.Json;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Preprocessing.Config;
using MlPlatform.Preprocessing.Diagnostics;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// Each model config's pipeline, built once. Keyed by the config object itself, which
/// <see cref="ModelConfigClient"/> caches per model version, so a new version gets a new pipeline
/// and an old one is collected with its config.
/// </summary>
internal sealed class PreprocessPipelines(ILogger<PreprocessPipelines> logger)
{
    private readonly ConditionalWeakTable<ModelConfig, CompiledPipeline> _compiled = new();

    public CompiledPipeline Get(ModelConfig config) =>
        _compiled.TryGetValue(config, out var compiled) ? compiled : _compiled.GetValue(config, Compile);

    private CompiledPipeline Compile(ModelConfig config)
    {
        if (config.Preprocess is not { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } section)
        {
            return new CompiledPipeline(
                null,
                StatusCodes.Status400BadRequest,
                $"model '{config.Name}' has no preprocess section in its config.json, so it takes no images or instances; send tensors to /v2/models/{config.Name}/infer instead");
        }

        if (!PreprocessConfig.TryParse(section, config.MaxBatchSize, out var parsed, out var problems))
        {
            var list = string.Join("; ", problems);
            PreprocessingLog.InvalidPreprocessConfig(logger, config.Name, list);

            // The client asked well; the model repository holds a config this service cannot run.
            return new CompiledPipeline(null, StatusCodes.Status502BadGateway, $"model '{config.Name}' has a preprocess section this service cannot run: {list}");
        }

        return new CompiledPipeline(new PreprocessPipeline(config.Name, parsed, config.MaxBatchSize), StatusCodes.Status200OK, null);
    }
}

/// <summary>A pipeline, or the status and message that say why a model has none.</summary>
internal sealed record CompiledPipeline(PreprocessPipeline? Pipeline, int StatusCode, string? Problem);
