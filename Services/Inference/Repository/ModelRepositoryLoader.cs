using Microsoft.Extensions.Options;
using MlPlatform.Inference.Diagnostics;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// Reads the repository's configs, validated with the settings before the server listens; then loads and
/// warms up the models in the background, so liveness answers while a large model loads and readiness waits for it.
/// </summary>
internal sealed class ModelRepositoryLoader(
    ModelRepository repository,
    IOptions<ModelRepositoryOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ModelRepositoryLoader> logger) : BackgroundService
{
    private IReadOnlyList<ModelDefinition> _definitions = [];

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var path = ModelRepositoryLocation.Resolve(options.Value.ModelRepository);
        try
        {
            _definitions = ModelRepositoryScanner.Scan(path);
        }
        catch (ModelRepositoryException exception)
        {
            // Valid when the settings were checked a moment ago, so changed since; reported the same way.
            lifetime.StopWithStartupErrors(exception.Problems);
            return Task.CompletedTask;
        }

        InferenceLog.RepositoryScanned(logger, path, _definitions.Count);
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        // A model that cannot load would leave the replica forever unready; stop it so the
        // orchestrator shows the failure instead of a silent hang.
        try
        {
            repository.Load(_definitions);
            foreach (var entry in repository.Models.Values)
            {
                InferenceLog.ModelReady(logger, entry.Definition.Name, string.Join(", ", entry.VersionTexts));
            }
        }
        catch (ModelRepositoryException exception)
        {
            lifetime.StopWithStartupErrors(exception.Problems);
        }
        catch (Exception exception)
        {
            // Not a problem of the repository's that we know of: the stack trace is what someone needs.
            InferenceLog.RepositoryLoadFailed(logger, exception);
            Environment.ExitCode = StartupErrors.FailureExitCode;
            lifetime.StopApplication();
        }
    }, stoppingToken);
}
