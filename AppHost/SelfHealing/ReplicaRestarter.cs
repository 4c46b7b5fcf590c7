using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MlPlatform.AppHost.Redis;

namespace MlPlatform.AppHost.SelfHealing;

/// <summary>
/// Starts again every replica (and Redis) that exits without being asked to, through Aspire's own start command,
/// as a Deployment's pods are restarted in a cluster. DCP runs a process once: one killed with kill -9 stays
/// Finished. A resource stopped from the dashboard (it passes through Stopping) stays stopped.
/// </summary>
internal sealed partial class ReplicaRestarter(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    RestartPolicy policy,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ReplicaRestarter> logger) : BackgroundService
{
    private readonly Dictionary<string, Watched> _watched = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                if (change.Resource is ProjectResource or RedisServerResource && Observe(change) is { } exited)
                {
                    _ = RestartAsync(change.ResourceId, exited, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The exit to answer with a restart, or null when this change is not one.</summary>
    private Exit? Observe(ResourceEvent change)
    {
        var state = change.Snapshot.State?.Text;
        if (!_watched.TryGetValue(change.ResourceId, out var watched))
        {
            watched = new Watched();
            _watched[change.ResourceId] = watched;
        }

        var previous = watched.State;
        watched.State = state;
        if (state == KnownResourceStates.Running)
        {
            watched.RunningSince ??= time.GetTimestamp();
            watched.CameUpHealthy |= change.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy;
            watched.StopRequested = false;
            return null;
        }

        if (state == KnownResourceStates.Stopping)
        {
            watched.StopRequested = true;
            return null;
        }

        if (state != KnownResourceStates.Finished || previous == KnownResourceStates.Finished || watched.RunningSince is not { } since)
        {
            return null;
        }

        var exit = new Exit(change.Snapshot.ExitCode, time.GetElapsedTime(since), watched.CameUpHealthy, watched.StopRequested);
        watched.RunningSince = null;
        watched.CameUpHealthy = false;
        return exit.StopRequested || lifetime.ApplicationStopping.IsCancellationRequested ? null : exit;
    }

    private async Task RestartAsync(string resourceId, Exit exit, CancellationToken stoppingToken)
    {
        var delay = policy.NextDelay(resourceId, exit.RanFor, exit.CameUpHealthy);
        LogExited(logger, resourceId, exit.Code, delay.TotalSeconds);
        try
        {
            await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, stoppingToken).ConfigureAwait(false);
            if (!result.Success)
            {
                LogRestartFailed(logger, resourceId, result.Message ?? "the start command failed");
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "{ResourceId} exited with code {ExitCode}; starting it again in {DelaySeconds} s")]
    private static partial void LogExited(ILogger logger, string resourceId, int? exitCode, double delaySeconds);

    [LoggerMessage(2, LogLevel.Error, "{ResourceId} could not be started again: {Reason}")]
    private static partial void LogRestartFailed(ILogger logger, string resourceId, string reason);

    private sealed record Exit(int? Code, TimeSpan RanFor, bool CameUpHealthy, bool StopRequested);

    private sealed class Watched
    {
        public string? State { get; set; }

        public long? RunningSince { get; set; }

        public bool CameUpHealthy { get; set; }

        public bool StopRequested { get; set; }
    }
}

public static class ReplicaRestartExtensions
{
    /// <summary>Restarts replicas and executables that die during a local run (not during publish).</summary>
    public static IDistributedApplicationBuilder AddReplicaRestarts(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsRunMode)
        {
            builder.Services.AddSingleton(TimeProvider.System);
            builder.Services.AddSingleton<RestartPolicy>();
            builder.Services.AddHostedService<ReplicaRestarter>();
        }

        return builder;
    }
}
