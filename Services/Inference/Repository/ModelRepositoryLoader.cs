using Microsoft.Extensions.Options;
using MlPlatform.Inference.Diagnostics;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// Reads the repository's configs, validated with the settings before the server listens; then loads and warms up
/// the start-up models in the background, so liveness answers while a large model loads and readiness waits for it;
/// then, in <c>poll</c> mode, looks at the repository again every <c>RepositoryPollSeconds</c>.
/// </summary>
internal sealed class ModelRepositoryLoader(
    ModelRepository repository,
    IOptions<ModelRepositoryOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<ModelRepositoryLoader> logger) : BackgroundService
{
    private StartupModelSelection? _selection;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var scan = ModelRepositoryScanner.ScanAll(repository.RepositoryPath);
        _selection = StartupModelSelection.Select(options.Value, repository.RepositoryPath, scan);
        if (_selection.FatalProblems.Count > 0)
        {
            // Valid when the settings were checked a moment ago, so changed since; reported the same way.
            lifetime.StopWithStartupErrors(_selection.FatalProblems);
            return Task.CompletedTask;
        }

        InferenceLog.RepositoryScanned(logger, repository.RepositoryPath, scan.Models.Count);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A model that cannot load would leave the replica forever unready; stop it so the
        // orchestrator shows the failure instead of a silent hang.
        try
        {
            var problems = await repository.LoadStartupModelsAsync(_selection!.Models, stoppingToken).ConfigureAwait(false);
            var unknown = _selection.ModelProblems.Except(problems).ToArray();
            if (options.Value.ExitOnError && problems.Count > 0)
            {
                lifetime.StopWithStartupErrors(problems);
                return;
            }

            foreach (var problem in unknown.Concat(problems))
            {
                InferenceLog.ModelUnavailable(logger, problem);
            }

            foreach (var entry in repository.Models.Values)
            {
                InferenceLog.ModelReady(logger, entry.Definition.Name, string.Join(", ", entry.VersionTexts));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception exception)
        {
            // Not a problem of the repository's that we know of: the stack trace is what someone needs.
            InferenceLog.RepositoryLoadFailed(logger, exception);
            Environment.ExitCode = StartupErrors.FailureExitCode;
            lifetime.StopApplication();
            return;
        }

        if (options.Value.ModelControlMode == ModelControlMode.Poll)
        {
            await PollAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task PollAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RepositoryPollSeconds), timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var problem in await repository.PollAsync(stoppingToken).ConfigureAwait(false))
                {
                    InferenceLog.ModelUnavailable(logger, problem);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
