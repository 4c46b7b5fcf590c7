using Microsoft.Extensions.Primitives;
using MlPlatform.Gateway.Declarative;
using Yarp.ReverseProxy.Model;

namespace MlPlatform.Gateway.Kong;

/// <summary>What a reload did: the revision now served, or the problems it was refused for (the old one stays).</summary>
internal sealed record KongReloadResult(long? Revision, IReadOnlyList<ConfigProblem> Problems)
{
    public bool Applied => Revision is not null;
}

/// <summary>
/// The declarative configuration the gateway serves, and every reload of it. A reload is atomic: the new configuration
/// is parsed and built beside the old one, its YARP routes are published next to the old ones, and only once routing
/// can reach them does it become <see cref="Current"/>; a request routed with the old one finishes with it. A file or
/// body with any problem changes nothing.
/// </summary>
internal sealed class KongConfigStore
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);

    private readonly KongPluginServices _pluginServices;
    private readonly IServiceProvider _serviceProvider;
    private readonly ILogger<KongConfigStore> _logger;
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private volatile KongConfiguration _current;
    private volatile IReadOnlyList<KongConfiguration> _published;
    private CancellationTokenSource _changed = new();
    private long _revision;

    // Configuration rather than the options: the options' validation reports what this store found in the file.
    public KongConfigStore(IConfiguration configuration, KongPluginServices pluginServices, IServiceProvider serviceProvider, ILogger<KongConfigStore> logger)
    {
        var file = configuration[$"{DeclarativeConfigOptions.SectionName}:{nameof(DeclarativeConfigOptions.DeclarativeConfig)}"];
        _pluginServices = pluginServices;
        _serviceProvider = serviceProvider;
        _logger = logger;
        FilePath = string.IsNullOrWhiteSpace(file) ? null : Path.GetFullPath(file);
        _current = KongConfiguration.Build(0, new DeclarativeConfig([], [], [], []), pluginServices).Configuration!;
        StartupProblems = [];
        if (FilePath is not null)
        {
            var (loaded, problems) = Load(ReadFile(FilePath, out var text, out var readProblem) ? text : null, readProblem);
            if (loaded is not null)
            {
                _current = loaded;
                FileText = text;
            }

            StartupProblems = problems;
        }

        _published = [_current];
    }

    public bool IsEnabled => FilePath is not null;

    /// <summary>The file named by <c>Gateway:DeclarativeConfig</c>, as a full path; null without one.</summary>
    public string? FilePath { get; }

    /// <summary>The file's text as last applied, so a watcher can tell a change from a touch.</summary>
    private string? FileText { get; set; }

    /// <summary>What was wrong with the file on start: start-up fails with one line for each.</summary>
    public IReadOnlyList<ConfigProblem> StartupProblems { get; }

    public KongConfiguration Current => _current;

    /// <summary>The configurations YARP routes for: the current one, and while a reload is under way or just done, the one before.</summary>
    public IReadOnlyList<KongConfiguration> Published => _published;

    /// <summary>Fires when <see cref="Published"/> changes.</summary>
    public IChangeToken ChangeToken => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    /// <summary>Reads the file again and applies it when its text changed.</summary>
    public async Task<KongReloadResult?> ReloadFileAsync(CancellationToken cancellationToken)
    {
        if (FilePath is null)
        {
            return null;
        }

        if (!ReadFile(FilePath, out var text, out var problem))
        {
            return new KongReloadResult(null, [problem!]);
        }

        if (string.Equals(text, FileText, StringComparison.Ordinal))
        {
            return null;
        }

        var result = await ApplyAsync(text, FilePath, cancellationToken).ConfigureAwait(false);
        if (result.Applied)
        {
            FileText = text;
        }

        return result;
    }

    /// <summary>Parses, builds and serves <paramref name="text"/>, or refuses it with every problem; <paramref name="source"/> is for the log.</summary>
    public async Task<KongReloadResult> ApplyAsync(string text, string source, CancellationToken cancellationToken)
    {
        await _reloading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (configuration, problems) = Load(text, null);
            if (configuration is null)
            {
                KongLog.ReloadRefused(_logger, source, problems.Count, string.Join("; ", problems));
                return new KongReloadResult(null, problems);
            }

            Publish([_current, configuration]);
            await WaitUntilRoutableAsync(configuration, cancellationToken).ConfigureAwait(false);
            _current = configuration;
            KongLog.ReloadApplied(_logger, configuration.Revision, source, configuration.Source.Services.Count, configuration.Source.Routes.Count, configuration.Source.Consumers.Count, configuration.Source.Plugins.Count);
            return new KongReloadResult(configuration.Revision, []);
        }
        finally
        {
            _reloading.Release();
        }
    }

    private (KongConfiguration? Configuration, IReadOnlyList<ConfigProblem> Problems) Load(string? text, ConfigProblem? readProblem)
    {
        if (text is null)
        {
            return (null, [readProblem!]);
        }

        var parsed = DeclarativeParser.Parse(text);
        if (!parsed.IsValid)
        {
            return (null, parsed.Problems);
        }

        return KongConfiguration.Build(Interlocked.Increment(ref _revision), parsed.Config!, _pluginServices);
    }

    private void Publish(IReadOnlyList<KongConfiguration> configurations)
    {
        _published = configurations;
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }

    /// <summary>Until routing has endpoints for the new revision's proxied routes: before that, a request routed by it would find none.</summary>
    private async Task WaitUntilRoutableAsync(KongConfiguration configuration, CancellationToken cancellationToken)
    {
        var expected = configuration.Services.Count(service => !service.IsPredict && (service.ServesHttp || service.ServesGrpc));
        if (expected == 0)
        {
            return;
        }

        var prefix = $"{KongConfiguration.IdPrefix}{configuration.Revision}/";
        var endpoints = _serviceProvider.GetRequiredService<EndpointDataSource>();
        var deadline = _pluginServices.TimeProvider.GetUtcNow() + PublishTimeout;
        while (_pluginServices.TimeProvider.GetUtcNow() < deadline)
        {
            foreach (var endpoint in endpoints.Endpoints)
            {
                if (endpoint.Metadata.GetMetadata<RouteModel>()?.Config.RouteId.StartsWith(prefix, StringComparison.Ordinal) == true)
                {
                    return;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false);
        }

        KongLog.PublishSlow(_logger, configuration.Revision, PublishTimeout);
    }

    private static bool ReadFile(string path, out string text, out ConfigProblem? problem)
    {
        try
        {
            text = File.ReadAllText(path);
            problem = null;
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            text = "";
            problem = new ConfigProblem("", $"cannot read the file: {exception.Message}");
            return false;
        }
    }
}
