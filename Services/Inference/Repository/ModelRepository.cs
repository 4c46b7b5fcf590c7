using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Batching;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Execution;

namespace MlPlatform.Inference.Repository;

/// <summary>The loaded versions of one model, highest first, as one request sees them.</summary>
internal sealed class ModelEntry
{
    public ModelEntry(ModelDefinition definition, IReadOnlyList<LoadedVersion> versions, string folderStamp)
    {
        Definition = definition;
        Versions = versions;
        FolderStamp = folderStamp;
        VersionTexts = versions.Select(v => v.Model.VersionText).ToArray();
        ConfigTag = ConfigTagOf(definition.Config);
    }

    public ModelDefinition Definition { get; }

    public IReadOnlyList<LoadedVersion> Versions { get; }

    public IReadOnlyList<string> VersionTexts { get; }

    /// <summary>The model folder as it was loaded, for polling to see a change.</summary>
    public string FolderStamp { get; }

    /// <summary>
    /// Tells one served config from another (an HTTP entity tag): a config reloaded under the same version number
    /// is a new tag, so pre- and postprocessing, which cache configs, see it.
    /// </summary>
    public string ConfigTag { get; }

    public static string ConfigTagOf(ModelConfig config) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ConfigText(config))).AsSpan(0, 8));

    /// <summary>The config as served: two equal texts serve the same.</summary>
    public static string ConfigText(ModelConfig config) => JsonSerializer.Serialize(config, ProtocolJsonContext.Default.ModelConfig);
}

/// <summary>
/// Every model the server serves, and those it knows of that it does not: unloaded, not yet loaded, or failed.
/// Requests read one immutable table; loads, unloads and polls build a new one and swap it in, one at a time, so a
/// request sees a model's versions either all before a change or all after it. A version taken out is retired:
/// the requests that hold it finish on it, and only then is its session freed.
/// </summary>
internal sealed class ModelRepository(
    InferenceMetrics metrics, TimeProvider timeProvider, IOptions<ModelRepositoryOptions> options, ILogger<ModelRepository> logger)
    : IAsyncDisposable
{
    private readonly SemaphoreSlim _control = new(1, 1);
    private readonly List<Task> _retiring = [];
    private volatile IReadOnlyDictionary<string, ModelEntry> _served = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, ModelState> _states = new Dictionary<string, ModelState>(StringComparer.Ordinal);
    private volatile bool _ready;

    public string RepositoryPath { get; } = ModelRepositoryLocation.Resolve(options.Value.ModelRepository);

    public ModelControlMode ControlMode => options.Value.ModelControlMode;

    /// <summary>Whether the models to load at start are loaded (or, with <c>ExitOnError</c> false, have failed).</summary>
    public bool IsReady => _ready;

    public IReadOnlyDictionary<string, ModelEntry> Models => _served;

    /// <summary>Loads the models chosen for start-up, one after the other, and then calls the server ready.</summary>
    /// <returns>The problems of the models that could not be loaded, each naming the file and the field.</returns>
    public async Task<IReadOnlyList<string>> LoadStartupModelsAsync(IReadOnlyList<ScannedModel> models, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        await _control.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var model in models)
            {
                problems.AddRange(await LoadLockedAsync(model, cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            _control.Release();
        }

        _ready = true;
        return problems;
    }

    /// <summary>
    /// Loads a model, or reloads it: versions whose file and config are unchanged are kept, new ones are loaded
    /// and warmed up, and all of them take over at once. When anything fails, what was served stays served.
    /// </summary>
    /// <param name="configOverride">A config to use in place of the folder's <c>config.json</c>, as Triton's <c>config</c> parameter.</param>
    public async Task<ModelControlResult> LoadAsync(string name, string? configOverride, CancellationToken cancellationToken)
    {
        if (!ModelRepositoryScanner.IsValidModelName(name))
        {
            return ModelControlResult.NotFound($"'{name}' is not a model name: names hold only letters, digits, '_', '.' and '-'");
        }

        await _control.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var directory = Path.Combine(RepositoryPath, name);
            if (!Directory.Exists(directory))
            {
                return ModelControlResult.NotFound($"the model repository has no folder '{name}'");
            }

            var problems = await LoadLockedAsync(ModelRepositoryScanner.ScanModel(directory, configOverride), cancellationToken).ConfigureAwait(false);
            return problems.Count == 0
                ? ModelControlResult.Done
                : ModelControlResult.Failed($"model '{name}' failed to load: {string.Join("; ", problems)}");
        }
        finally
        {
            _control.Release();
        }
    }

    /// <summary>Stops serving a model; returns once the requests in flight on it are done and its sessions freed.</summary>
    public async Task<ModelControlResult> UnloadAsync(string name, CancellationToken cancellationToken)
    {
        Task retired;
        await _control.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_served.ContainsKey(name) && !_states.ContainsKey(name))
            {
                return ModelControlResult.NotFound($"unknown model '{name}'");
            }

            retired = UnloadLocked(name);
        }
        finally
        {
            _control.Release();
        }

        await retired.ConfigureAwait(false);
        return ModelControlResult.Done;
    }

    /// <summary>
    /// One look at the repository, as Triton's poll: a new folder loads, a removed one unloads, a changed one
    /// reloads. A folder that failed is tried again only once it changes.
    /// </summary>
    public async Task<IReadOnlyList<string>> PollAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        await _control.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var scan = ModelRepositoryScanner.ScanAll(RepositoryPath);
            if (scan.Problems.Count > 0)
            {
                // The whole folder gone is more likely a volume remounting than every model removed.
                return scan.Problems;
            }

            var onDisk = new HashSet<string>(StringComparer.Ordinal);
            foreach (var model in scan.Models)
            {
                onDisk.Add(model.Name);
                var stamp = ModelFolderStamp.Read(model.Directory);
                var known = _served.TryGetValue(model.Name, out var entry)
                    ? entry.FolderStamp
                    : _states.TryGetValue(model.Name, out var state) ? state.FolderStamp : null;
                if (known != stamp)
                {
                    problems.AddRange(await LoadLockedAsync(model, cancellationToken).ConfigureAwait(false));
                }
            }

            foreach (var name in _served.Keys.Concat(_states.Keys).Distinct().ToArray())
            {
                if (!onDisk.Contains(name))
                {
                    _ = UnloadLocked(name, forget: true);
                }
            }
        }
        finally
        {
            _control.Release();
        }

        return problems;
    }

    /// <summary>Finds a model version, the highest when <paramref name="version"/> is null, without holding it.</summary>
    public ModelLookup Find(string name, string? version)
    {
        if (!_served.TryGetValue(name, out var entry))
        {
            return _states.TryGetValue(name, out var state) && state.Failure is { } failure
                ? new ModelLookup(null, null, ModelLookupError.Unavailable, $"model '{name}' is unavailable: it failed to load: {failure}")
                : _states.ContainsKey(name) || IsModelFolder(name)
                    ? new ModelLookup(null, null, ModelLookupError.NotFound, $"model '{name}' is not loaded")
                    : new ModelLookup(null, null, ModelLookupError.NotFound, $"unknown model '{name}'");
        }

        if (version is null)
        {
            return new ModelLookup(entry, entry.Versions[0], ModelLookupError.None, null);
        }

        foreach (var loaded in entry.Versions)
        {
            if (loaded.Model.VersionText == version)
            {
                return new ModelLookup(entry, loaded, ModelLookupError.None, null);
            }
        }

        return new ModelLookup(entry, null, ModelLookupError.NotFound, $"unknown version '{version}' of model '{name}'; it has versions {string.Join(", ", entry.VersionTexts)}");
    }

    /// <summary>
    /// Finds a model version and holds it for one request: until the lease is disposed, a reload or unload that
    /// takes the version out waits to free its session.
    /// </summary>
    public ModelLease Acquire(string name, string? version)
    {
        while (true)
        {
            var lookup = Find(name, version);
            if (lookup.Version is not { } loaded)
            {
                return new ModelLease(lookup, null);
            }

            if (loaded.TryAcquire())
            {
                return new ModelLease(lookup, loaded);
            }

            // Retired between the lookup and now, which happens only after the table that replaces it is in place.
        }
    }

    /// <summary>Every model of the repository and its versions, with their state, as Triton's repository index.</summary>
    public IReadOnlyList<ModelIndexEntry> Index(bool readyOnly)
    {
        var served = _served;
        var states = _states;
        var names = new SortedSet<string>(served.Keys.Concat(states.Keys), StringComparer.Ordinal);
        if (!readyOnly && Directory.Exists(RepositoryPath))
        {
            foreach (var directory in Directory.EnumerateDirectories(RepositoryPath))
            {
                var name = Path.GetFileName(directory);
                if (ModelRepositoryScanner.IsValidModelName(name))
                {
                    names.Add(name);
                }
            }
        }

        var index = new List<ModelIndexEntry>();
        foreach (var name in names)
        {
            if (served.TryGetValue(name, out var entry))
            {
                foreach (var version in entry.VersionTexts)
                {
                    index.Add(new ModelIndexEntry(name, version, _ready ? ModelStates.Ready : ModelStates.Loading));
                }
            }

            if (readyOnly)
            {
                continue;
            }

            states.TryGetValue(name, out var state);
            if (state?.Failure is { } failure)
            {
                index.Add(new ModelIndexEntry(name, "", ModelStates.Unavailable, entry is null ? failure : $"the last load failed, the versions above still serve: {failure}"));
            }
            else if (entry is null)
            {
                index.Add(new ModelIndexEntry(name, "", state?.Loading == true ? ModelStates.Loading : ModelStates.Unavailable, state?.Loading == true ? null : state is null ? "not loaded" : "unloaded"));
            }
        }

        return index;
    }

    private bool IsModelFolder(string name) =>
        ModelRepositoryScanner.IsValidModelName(name) && Directory.Exists(Path.Combine(RepositoryPath, name));

    private async Task<IReadOnlyList<string>> LoadLockedAsync(ScannedModel scanned, CancellationToken cancellationToken)
    {
        var stamp = ModelFolderStamp.Read(scanned.Directory);
        if (scanned.Definition is not { } definition)
        {
            SetState(scanned.Name, ModelState.Failed(string.Join("; ", scanned.Problems), stamp));
            return scanned.Problems;
        }

        SetState(scanned.Name, ModelState.LoadingFrom(stamp, _states.GetValueOrDefault(scanned.Name)));
        _served.TryGetValue(definition.Name, out var existing);
        var configText = ModelEntry.ConfigText(definition.Config);
        var keepConfig = existing is not null && ModelEntry.ConfigText(existing.Definition.Config) == configText;
        var versions = new List<LoadedVersion>(definition.Versions.Count);
        var created = new List<LoadedVersion>();
        var problems = new List<string>();
        foreach (var (version, path) in definition.Versions)
        {
            var fileStamp = ModelFolderStamp.OfFile(path);
            var kept = keepConfig ? existing!.Versions.FirstOrDefault(v => v.Model.Version == version && v.FileStamp == fileStamp) : null;
            if (kept is not null)
            {
                versions.Add(kept);
                continue;
            }

            try
            {
                // Session creation and warm-up block for as long as the model takes; off the caller's thread.
                var (model, warmUpFailure) = await Task.Run(
                    () => (ServedModelLoader.Load(definition, version, path, out var failure), failure), cancellationToken).ConfigureAwait(false);
                if (warmUpFailure is not null)
                {
                    InferenceLog.InventedWarmUpFailed(logger, definition.Name, model.VersionText, warmUpFailure);
                }

                var loaded = new LoadedVersion(model, new DynamicBatcher(model, metrics, timeProvider), fileStamp);
                created.Add(loaded);
                versions.Add(loaded);
            }
            catch (ModelRepositoryException exception)
            {
                problems.AddRange(exception.Problems);
            }
        }

        if (problems.Count > 0)
        {
            foreach (var loaded in created)
            {
                await loaded.RetireAsync().ConfigureAwait(false);
            }

            SetState(definition.Name, ModelState.Failed(string.Join("; ", problems), stamp));
            return problems;
        }

        var served = new Dictionary<string, ModelEntry>(_served, StringComparer.Ordinal)
        {
            [definition.Name] = new ModelEntry(definition, versions, stamp),
        };
        _served = served;
        SetState(definition.Name, ModelState.Loaded(stamp));
        if (existing is not null)
        {
            // Not awaited: the new version serves from here on, while the old one finishes what it holds.
            _ = Retire(existing.Versions.Where(old => !versions.Contains(old)));
        }

        return [];
    }

    /// <param name="forget">Whether the model is gone from the repository too, so the index no longer lists it.</param>
    private Task UnloadLocked(string name, bool forget = false)
    {
        var states = new Dictionary<string, ModelState>(_states, StringComparer.Ordinal);
        if (forget)
        {
            states.Remove(name);
        }
        else
        {
            states[name] = ModelState.Unloaded;
        }

        _states = states;
        if (!_served.TryGetValue(name, out var entry))
        {
            return Task.CompletedTask;
        }

        var served = new Dictionary<string, ModelEntry>(_served, StringComparer.Ordinal);
        served.Remove(name);
        _served = served;
        return Retire(entry.Versions);
    }

    private Task Retire(IEnumerable<LoadedVersion> versions)
    {
        var retired = Task.WhenAll(versions.Select(version => version.RetireAsync()).ToArray());
        lock (_retiring)
        {
            _retiring.RemoveAll(task => task.IsCompleted);
            _retiring.Add(retired);
        }

        return retired;
    }

    private void SetState(string name, ModelState state) =>
        _states = new Dictionary<string, ModelState>(_states, StringComparer.Ordinal) { [name] = state };

    public async ValueTask DisposeAsync()
    {
        _ready = false;
        await _control.WaitAsync().ConfigureAwait(false);
        var served = _served;
        _served = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
        Task[] retiring;
        lock (_retiring)
        {
            retiring = [.. _retiring];
        }

        await Task.WhenAll(retiring).ConfigureAwait(false);
        await Retire(served.Values.SelectMany(entry => entry.Versions)).ConfigureAwait(false);
    }
}

/// <summary>What the repository knows of a model besides its loaded versions.</summary>
/// <param name="Failure">Why the last load failed; null when it did not.</param>
/// <param name="FolderStamp">The folder as last tried, for polling; null for a model unloaded by a call.</param>
internal sealed record ModelState(string? Failure, string? FolderStamp, bool Loading)
{
    public static readonly ModelState Unloaded = new(null, null, false);

    public static ModelState Failed(string failure, string stamp) => new(failure, stamp, false);

    public static ModelState Loaded(string stamp) => new(null, stamp, false);

    /// <summary>Loading now; a failure of the version still served is kept until this load ends.</summary>
    public static ModelState LoadingFrom(string stamp, ModelState? previous) => new(previous?.Failure, stamp, true);
}

/// <summary>The states of Triton's repository index.</summary>
internal static class ModelStates
{
    public const string Ready = "READY";
    public const string Loading = "LOADING";
    public const string Unavailable = "UNAVAILABLE";
}

internal enum ModelLookupError
{
    None,
    NotFound,
    Unavailable,
}

internal readonly record struct ModelLookup(ModelEntry? Entry, LoadedVersion? Version, ModelLookupError ErrorKind, string? Error)
{
    public ServedModel? Model => Version?.Model;

    public DynamicBatcher? Batcher => Version?.Batcher;
}

/// <summary>A model version held for one request; disposing it lets a retired version free its session.</summary>
internal sealed class ModelLease(ModelLookup lookup, LoadedVersion? held) : IDisposable
{
    private LoadedVersion? _held = held;

    public ModelLookup Lookup { get; } = lookup;

    public void Dispose() => Interlocked.Exchange(ref _held, null)?.Release();
}

/// <summary>The outcome of a load or unload call.</summary>
internal readonly record struct ModelControlResult(ModelControlOutcome Outcome, string? Message)
{
    public static readonly ModelControlResult Done = new(ModelControlOutcome.Done, null);

    public static ModelControlResult NotFound(string message) => new(ModelControlOutcome.NotFound, message);

    public static ModelControlResult Failed(string message) => new(ModelControlOutcome.Failed, message);
}

internal enum ModelControlOutcome
{
    Done,
    NotFound,
    Failed,
}
