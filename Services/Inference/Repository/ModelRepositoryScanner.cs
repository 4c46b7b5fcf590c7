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
        var scan = ScanAll(repositoryPath);
        var problems = new List<string>(scan.Problems);
        var models = new List<ModelDefinition>();
        foreach (var model in scan.Models)
        {
            problems.AddRange(model.Problems);
            if (model.Definition is { } definition)
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

    /// <summary>
    /// Scans every model folder, each on its own: one model's problems do not hide the others, for a server
    /// that serves what it can.
    /// </summary>
    public static RepositoryScan ScanAll(string repositoryPath)
    {
        if (!Directory.Exists(repositoryPath))
        {
            return new RepositoryScan(
                [],
                [$"{repositoryPath}: the model repository folder does not exist; set Inference:ModelRepository to the folder that holds your models"]);
        }

        var models = new List<ScannedModel>();
        foreach (var directory in Directory.EnumerateDirectories(repositoryPath).Order(StringComparer.Ordinal))
        {
            models.Add(ScanModel(directory));
        }

        return new RepositoryScan(models, []);
    }

    /// <summary>
    /// Reads one model folder; <paramref name="configOverride"/>, when given, is the config in place of its
    /// <c>config.json</c>, as Triton's load request's <c>config</c> parameter.
    /// </summary>
    public static ScannedModel ScanModel(string directory, string? configOverride = null)
    {
        var problems = new List<string>();
        var definition = ScanModel(directory, configOverride, problems);
        return new ScannedModel(Path.GetFileName(directory), directory, definition, problems);
    }

    /// <summary>Whether a name can be a model folder's: anything else never reaches the file system.</summary>
    public static bool IsValidModelName(string name) => ModelNamePattern().IsMatch(name);

    private static ModelDefinition? ScanModel(string directory, string? configOverride, List<string> problems)
    {
        var folderName = Path.GetFileName(directory);
        var configPath = Path.Combine(directory, ConfigFileName);
        var problemCount = problems.Count;

        if (!ModelNamePattern().IsMatch(folderName))
        {
            problems.Add($"{directory}: model folder names may hold only letters, digits, '_', '.' and '-', and start with a letter or digit");
            return null;
        }

        if (configOverride is null && !File.Exists(configPath))
        {
            problems.Add($"{configPath}: missing; every model folder needs a {ConfigFileName} (at least {{\"name\": \"{folderName}\"}})");
            return null;
        }

        if (configOverride is not null)
        {
            // Problems are named after the parameter, not a file the client never wrote.
            configPath = "parameters.config";
        }

        var config = configOverride is null ? ReadConfig(configPath, problems) : ReadConfigText(configOverride, problems);
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

    private static ModelConfig? ReadConfigText(string configText, List<string> problems)
    {
        const string source = "parameters.config";
        try
        {
            return Deserialize(JsonSerializer.Deserialize(configText, StrictConfigTypeInfo), source, problems);
        }
        catch (JsonException exception)
        {
            problems.Add(Describe(source, exception));
            return null;
        }
    }

    private static ModelConfig? ReadConfig(string configPath, List<string> problems)
    {
        try
        {
            using var stream = File.OpenRead(configPath);
            return Deserialize(JsonSerializer.Deserialize(stream, StrictConfigTypeInfo), configPath, problems);
        }
        catch (JsonException exception)
        {
            problems.Add(Describe(configPath, exception));
            return null;
        }
        catch (IOException exception)
        {
            problems.Add($"{configPath}: cannot be read: {exception.Message}");
            return null;
        }
    }

    private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<ModelConfig> StrictConfigTypeInfo =>
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<ModelConfig>)StrictConfigOptions.GetTypeInfo(typeof(ModelConfig));

    private static ModelConfig? Deserialize(ModelConfig? config, string source, List<string> problems)
    {
        if (config is null)
        {
            problems.Add($"{source}: holds null; it must be a JSON object");
        }

        return config;
    }

    private static string Describe(string source, JsonException exception)
    {
        var field = string.IsNullOrEmpty(exception.Path) || exception.Path == "$" ? "" : $" field '{exception.Path[2..]}':";
        var message = exception.Message.Split(" Path:", 2)[0];
        return $"{source}:{field} {message} (line {exception.LineNumber + 1})";
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

        ModelWarmUp.Validate(configPath, config, problems);

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
