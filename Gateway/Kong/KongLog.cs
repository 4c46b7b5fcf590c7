namespace MlPlatform.Gateway.Kong;

internal static partial class KongLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Declarative configuration revision {Revision} from {Source} is served: {Services} services, {Routes} routes, {Consumers} consumers, {Plugins} plugins.")]
    public static partial void ReloadApplied(ILogger logger, long revision, string source, int services, int routes, int consumers, int plugins);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Declarative configuration from {Source} refused; the configuration served is unchanged. {Count} problem(s): {Problems}")]
    public static partial void ReloadRefused(ILogger logger, string source, int count, string problems);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Routing had no endpoints for declarative configuration revision {Revision} after {Timeout}; it is served anyway.")]
    public static partial void PublishSlow(ILogger logger, long revision, TimeSpan timeout);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Watching {Path} for changes failed; the file is still read every few seconds.")]
    public static partial void WatchFailed(ILogger logger, string path, Exception exception);
}
