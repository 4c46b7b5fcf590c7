using System.Globalization;
using System.Net;
using System.Text.Json;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Tests;

/// <summary>
/// One model version's statistics as numbers by their path in Triton's JSON (<c>inference_stats.queue.ns</c>,
/// <c>batch_stats[4].compute_infer.count</c>), read with Triton's field names rather than the service's own types, so
/// a misnamed field shows. REST and gRPC answers read into the same form, and compare whole.
/// </summary>
internal sealed record VersionStats(string Name, string Version, IReadOnlyDictionary<string, ulong> Figures)
{
    public static readonly string[] InferencePhases = ["success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"];

    public static readonly string[] BatchPhases = ["compute_input", "compute_infer", "compute_output"];

    /// <summary>A figure; a batch size that never ran reads 0, any other missing figure fails the test.</summary>
    public ulong this[string path] =>
        Figures.TryGetValue(path, out var value) ? value
        : path.StartsWith("batch_stats[", StringComparison.Ordinal) ? 0UL
        : throw new KeyNotFoundException($"{Name} version {Version} has no '{path}'; it has {string.Join(", ", Figures.Keys)}");

    /// <summary>The batch sizes that ran, ascending.</summary>
    public IReadOnlyList<ulong> BatchSizes => Figures.Keys
        .Where(key => key.StartsWith("batch_stats[", StringComparison.Ordinal))
        .Select(key => ulong.Parse(key["batch_stats[".Length..key.IndexOf(']', StringComparison.Ordinal)], CultureInfo.InvariantCulture))
        .Distinct()
        .Order()
        .ToArray();

    /// <summary>How much each figure grew since <paramref name="before"/>, the same version earlier.</summary>
    public Func<string, long> Since(VersionStats before) => path => checked((long)this[path] - (long)before[path]);

    /// <summary>GET a statistics route, which must answer 200.</summary>
    public static async Task<VersionStats[]> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("model_stats").EnumerateArray().Select(FromJson).ToArray();
    }

    public static async Task<VersionStats> GetVersionAsync(HttpClient client, string model, string version) =>
        Assert.Single(await GetAsync(client, $"/v2/models/{model}/versions/{version}/stats"));

    public static VersionStats[] FromMessage(ModelStatisticsResponse response) => response.ModelStats.Select(FromMessage).ToArray();

    private static VersionStats FromJson(JsonElement entry)
    {
        var figures = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var property in entry.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name" or "version":
                    break;
                case "batch_stats":
                    foreach (var batch in property.Value.EnumerateArray())
                    {
                        var size = batch.GetProperty("batch_size").GetUInt64();
                        foreach (var phase in batch.EnumerateObject().Where(phase => phase.Name != "batch_size"))
                        {
                            Flatten(phase.Value, $"batch_stats[{size}].{phase.Name}", figures);
                        }
                    }

                    break;
                default:
                    Flatten(property.Value, property.Name, figures);
                    break;
            }
        }

        return new VersionStats(entry.GetProperty("name").GetString()!, entry.GetProperty("version").GetString()!, figures);
    }

    private static void Flatten(JsonElement element, string path, Dictionary<string, ulong> figures)
    {
        if (element.ValueKind == JsonValueKind.Number)
        {
            figures.Add(path, element.GetUInt64());
            return;
        }

        Assert.True(element.ValueKind == JsonValueKind.Object, $"{path} is a {element.ValueKind}");
        foreach (var property in element.EnumerateObject())
        {
            Flatten(property.Value, $"{path}.{property.Name}", figures);
        }
    }

    private static VersionStats FromMessage(ModelStatistics message)
    {
        var figures = new Dictionary<string, ulong>(StringComparer.Ordinal)
        {
            ["last_inference"] = message.LastInference,
            ["inference_count"] = message.InferenceCount,
            ["execution_count"] = message.ExecutionCount,
        };
        var inference = message.InferenceStats;
        Add(figures, "inference_stats.success", inference?.Success);
        Add(figures, "inference_stats.fail", inference?.Fail);
        Add(figures, "inference_stats.queue", inference?.Queue);
        Add(figures, "inference_stats.compute_input", inference?.ComputeInput);
        Add(figures, "inference_stats.compute_infer", inference?.ComputeInfer);
        Add(figures, "inference_stats.compute_output", inference?.ComputeOutput);
        Add(figures, "inference_stats.cache_hit", inference?.CacheHit);
        Add(figures, "inference_stats.cache_miss", inference?.CacheMiss);
        foreach (var batch in message.BatchStats)
        {
            Add(figures, $"batch_stats[{batch.BatchSize}].compute_input", batch.ComputeInput);
            Add(figures, $"batch_stats[{batch.BatchSize}].compute_infer", batch.ComputeInfer);
            Add(figures, $"batch_stats[{batch.BatchSize}].compute_output", batch.ComputeOutput);
        }

        return new VersionStats(message.Name, message.Version, figures);
    }

    private static void Add(Dictionary<string, ulong> figures, string path, StatisticDuration? duration)
    {
        figures.Add($"{path}.count", duration?.Count ?? 0);
        figures.Add($"{path}.ns", duration?.Ns ?? 0);
    }
}
