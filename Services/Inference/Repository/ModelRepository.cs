using MlPlatform.Inference.Batching;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Execution;

namespace MlPlatform.Inference.Repository;

/// <summary>The versions of one model, highest first.</summary>
internal sealed class ModelEntry(ModelDefinition definition, IReadOnlyList<(ServedModel Model, DynamicBatcher Batcher)> versions)
{
    public ModelDefinition Definition { get; } = definition;

    public IReadOnlyList<(ServedModel Model, DynamicBatcher Batcher)> Versions { get; } = versions;

    public IReadOnlyList<string> VersionTexts { get; } = versions.Select(v => v.Model.VersionText).ToArray();
}

/// <summary>
/// Every model the server serves. Configs are validated before anything loads; then each version
/// gets a session and one warm-up run, and only after all of them is the server ready.
/// </summary>
internal sealed class ModelRepository(InferenceMetrics metrics, TimeProvider timeProvider) : IAsyncDisposable
{
    private volatile IReadOnlyDictionary<string, ModelEntry> _models = new Dictionary<string, ModelEntry>();
    private volatile bool _ready;

    public bool IsReady => _ready;

    public IReadOnlyDictionary<string, ModelEntry> Models => _models;

    /// <summary>Loads and warms up every version of every model.</summary>
    /// <exception cref="ModelRepositoryException">Something in the repository cannot be served.</exception>
    public void Load(IReadOnlyList<ModelDefinition> definitions)
    {
        var models = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var definition in definitions)
        {
            var versions = new List<(ServedModel, DynamicBatcher)>();
            foreach (var (version, path) in definition.Versions)
            {
                try
                {
                    var model = ServedModelLoader.Load(definition, version, path);
                    versions.Add((model, new DynamicBatcher(model, metrics, timeProvider)));
                }
                catch (ModelRepositoryException exception)
                {
                    problems.AddRange(exception.Problems);
                }
            }

            models[definition.Name] = new ModelEntry(definition, versions);
        }

        _models = models;
        if (problems.Count > 0)
        {
            throw new ModelRepositoryException(problems);
        }

        _ready = true;
    }

    /// <summary>Finds a model version: the highest one when <paramref name="version"/> is null.</summary>
    public ModelLookup Find(string name, string? version)
    {
        if (!_models.TryGetValue(name, out var entry))
        {
            return new ModelLookup(null, null, null, $"unknown model '{name}'");
        }

        if (version is null)
        {
            var (model, batcher) = entry.Versions[0];
            return new ModelLookup(entry, model, batcher, null);
        }

        foreach (var (model, batcher) in entry.Versions)
        {
            if (model.VersionText == version)
            {
                return new ModelLookup(entry, model, batcher, null);
            }
        }

        return new ModelLookup(entry, null, null, $"unknown version '{version}' of model '{name}'; it has versions {string.Join(", ", entry.VersionTexts)}");
    }

    public async ValueTask DisposeAsync()
    {
        _ready = false;
        foreach (var entry in _models.Values)
        {
            foreach (var (model, batcher) in entry.Versions)
            {
                await batcher.DisposeAsync().ConfigureAwait(false);
                model.Dispose();
            }
        }
    }
}

internal readonly record struct ModelLookup(ModelEntry? Entry, ServedModel? Model, DynamicBatcher? Batcher, string? Error);
