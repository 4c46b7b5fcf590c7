using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// Reads the repository layout (<c>{model}/config.json</c>, <c>{model}/labels.txt</c>,
/// <c>{model}/{version}/model.onnx</c>) and validates every config before anything is loaded.
/// </summary>
internal static partial class ModelRepositoryScanner
{
    public const string ConfigFileName = "config.json";
    public const string LabelsFileName = "labels.txt";
    public const string ModelFileName = "model.onnx";

    private static readonly string[] GraphOptimizationLevels = ["disabled", "basic", "extended", "all"];

    private static readonly JsonSerializerOptions StrictConfigOptions = new(ProtocolJsonContext.Default.Options)
    {
        // A misspelt field would otherwise be ignored silently and its default served.
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    // Model names travel in URLs and label metrics; keep them to what needs no escaping anywhere.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ModelNamePattern();

    /// <summary>Scans the repository; throws <see cref="ModelRepositoryException"/> listing every problem.</summary>
    public static IReadOnlyList<ModelDefinition> Scan(string repositoryPath)
    {
        var problems = new List<string>();
        var models = new List<ModelDefinition>();

        if (!Directory.Exists(repositoryPath))
        {
            throw new ModelRepositoryException(
                [$"{repositoryPath}: the model repository folder does not exist; set Inference:ModelRepository to the folder that holds your models"]);
        }

        foreach (var directory in Directory.EnumerateDirectories(repositoryPath).Order(StringComparer.Ordinal))
        {
            var definition = ScanModel(directory, problems);
            if (definition is not null)
            {
                models.Add(definition);
            }
        }

        if (models.Count == 0 && problems.Count == 0)
        {
            problems.Add($"{repositoryPath}: no model folders (expected {{model}}/{ConfigFileName} and {{model}}/{{version}}/{ModelFileName})");
        }

        if (problems.Count > 0)
        {
            throw new ModelRepositoryException(problems);
        }

        return models;
    }

    private static ModelDefinition? ScanModel(string directory, List<string> problems)
    {
        var folderName = Path.GetFileName(directory);
        var configPath = Path.Combine(directory, ConfigFileName);
        var problemCount = problems.Count;

        if (!ModelNamePattern().IsMatch(folderName))
        {
            problems.Add($"{directory}: model folder names may hold only letters, digits, '_', '.' and '-', and start with a letter or digit");
            return null;
        }

        if (!File.Exists(configPath))
        {
            problems.Add($"{configPath}: missing; every model folder needs a {ConfigFileName} (at least {{\"name\": \"{folderName}\"}})");
            return null;
        }

        var config = ReadConfig(configPath, problems);
        if (config is null)
        {
            return null;
        }

        if (string.IsNullOrEmpty(config.Name))
        {
            config.Name = folderName;
        }
        else if (config.Name != folderName)
        {
            problems.Add($"{configPath}: field 'name' is '{config.Name}' but the folder is '{folderName}'; they must be the same");
        }

        ValidateConfig(configPath, config, problems);
        config.Labels = ReadLabels(Path.Combine(directory, LabelsFileName));

        var versions = new List<(long, string)>();
        foreach (var versionDirectory in Directory.EnumerateDirectories(directory))
        {
            // Only numeric folders are versions, as in Triton; anything else (samples, docs) is ignored.
            if (!long.TryParse(Path.GetFileName(versionDirectory), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                || version < 1)
            {
                continue;
            }

            var modelPath = Path.Combine(versionDirectory, ModelFileName);
            if (!File.Exists(modelPath))
            {
                problems.Add($"{modelPath}: missing; version folder {version} of model '{config.Name}' holds no {ModelFileName}");
                continue;
            }

            versions.Add((version, modelPath));
        }

        if (versions.Count == 0)
        {
            problems.Add($"{directory}: no version folder (a number such as 1/) with a {ModelFileName} in it");
        }

        versions.Sort((a, b) => b.Item1.CompareTo(a.Item1));
        return problems.Count == problemCount
            ? new ModelDefinition(config.Name, directory, configPath, config, versions)
            : null;
    }

    private static ModelConfig? ReadConfig(string configPath, List<string> problems)
    {
        try
        {
            using var stream = File.OpenRead(configPath);
            var config = JsonSerializer.Deserialize(stream, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<ModelConfig>)StrictConfigOptions.GetTypeInfo(typeof(ModelConfig)));
            if (config is null)
            {
                problems.Add($"{configPath}: the file holds null; it must be a JSON object");
            }

            return config;
        }
        catch (JsonException exception)
        {
            var field = string.IsNullOrEmpty(exception.Path) || exception.Path == "$" ? "" : $" field '{exception.Path[2..]}':";
            var message = exception.Message.Split(" Path:", 2)[0];
            problems.Add($"{configPath}:{field} {message} (line {exception.LineNumber + 1})");
            return null;
        }
        catch (IOException exception)
        {
            problems.Add($"{configPath}: cannot be read: {exception.Message}");
            return null;
        }
    }

    private static void ValidateConfig(string configPath, ModelConfig config, List<string> problems)
    {
        if (config.Platform != "onnxruntime_onnx")
        {
            problems.Add($"{configPath}: field 'platform' is '{config.Platform}'; this server runs 'onnxruntime_onnx' models only");
        }

        if (config.MaxBatchSize < 0)
        {
            problems.Add($"{configPath}: field 'max_batch_size' is {config.MaxBatchSize}; it must be 0 (no batching) or more");
        }

        if (config.DynamicBatching is { } batching)
        {
            if (config.MaxBatchSize == 0)
            {
                problems.Add($"{configPath}: field 'dynamic_batching' needs 'max_batch_size' above 0");
            }

            for (var i = 0; i < batching.PreferredBatchSize.Length; i++)
            {
                var size = batching.PreferredBatchSize[i];
                if (size < 1 || (config.MaxBatchSize > 0 && size > config.MaxBatchSize))
                {
                    problems.Add($"{configPath}: field 'dynamic_batching.preferred_batch_size[{i}]' is {size}; it must be between 1 and max_batch_size ({config.MaxBatchSize})");
                }
            }

            if (batching.MaxQueueDelayMicroseconds is < 0 or > 10_000_000)
            {
                problems.Add($"{configPath}: field 'dynamic_batching.max_queue_delay_microseconds' is {batching.MaxQueueDelayMicroseconds}; it must be between 0 and 10000000 (10 s)");
            }

            if (batching.MaxQueueSize < 0)
            {
                problems.Add($"{configPath}: field 'dynamic_batching.max_queue_size' is {batching.MaxQueueSize}; it must be 0 (no limit) or more");
            }
        }

        if (config.OnnxRuntime.IntraOpThreads < 0)
        {
            problems.Add($"{configPath}: field 'onnxruntime.intra_op_threads' is {config.OnnxRuntime.IntraOpThreads}; it must be 0 (let ONNX Runtime choose) or more");
        }

        if (config.OnnxRuntime.InterOpThreads < 0)
        {
            problems.Add($"{configPath}: field 'onnxruntime.inter_op_threads' is {config.OnnxRuntime.InterOpThreads}; it must be 0 (let ONNX Runtime choose) or more");
        }

        if (Array.IndexOf(GraphOptimizationLevels, config.OnnxRuntime.GraphOptimizationLevel) < 0)
        {
            problems.Add($"{configPath}: field 'onnxruntime.graph_optimization_level' is '{config.OnnxRuntime.GraphOptimizationLevel}'; expected one of {string.Join(", ", GraphOptimizationLevels)}");
        }

        if (config.Preprocess is { ValueKind: not JsonValueKind.Object and not JsonValueKind.Null })
        {
            problems.Add($"{configPath}: field 'preprocess' must be an object");
        }

        if (config.Postprocess is { ValueKind: not JsonValueKind.Object and not JsonValueKind.Null })
        {
            problems.Add($"{configPath}: field 'postprocess' must be an object");
        }
    }

    private static string[]? ReadLabels(string labelsPath)
    {
        if (!File.Exists(labelsPath))
        {
            return null;
        }

        var lines = File.ReadAllLines(labelsPath);
        var count = lines.Length;
        while (count > 0 && lines[count - 1].Length == 0)
        {
            count--;
        }

        return lines[..count];
    }
}
