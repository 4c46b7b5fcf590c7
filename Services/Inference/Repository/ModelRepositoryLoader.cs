using Microsoft.Extensions.Options;
using MlPlatform.Inference.Diagnostics;
using MlPlatform.Inference.Extensions;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// Validates the repository before the server listens, so a bad config stops start-up with a
/// message naming the file and the field; then loads and warms up the models in the background,
/// so liveness answers while a large model loads and readiness waits for it.
/// </summary>
internal sealed class ModelRepositoryLoader(
    ModelRepository repository,
    IOptions<InferenceOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ModelRepositoryLoader> logger) : BackgroundService
{
    private IReadOnlyList<ModelDefinition> _definitions = [];

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(options.Value.ModelRepository);
        try
        {
            _definitions = ModelRepositoryScanner.Scan(path);
        }
        catch (ModelRepositoryException exception)
        {
            InferenceLog.RepositoryInvalid(logger, exception.Message);
            throw;
        }

        InferenceLog.RepositoryScanned(logger, path, _definitions.Count);
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            repository.Load(_definitions);
            foreach (var entry in repository.Models.Values)
            {
                InferenceLog.ModelReady(logger, entry.Definition.Name, string.Join(", ", entry.VersionTexts));
            }
        }
        catch (Exception exception)
        {
            // A model that cannot load would leave the replica forever unready; stop it so the
            // orchestrator shows the failure instead of a silent hang.
            InferenceLog.RepositoryInvalid(logger, exception is ModelRepositoryException ? exception.Message : exception.ToString());
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }, stoppingToken);
}
