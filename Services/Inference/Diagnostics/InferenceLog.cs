namespace MlPlatform.Inference.Diagnostics;

internal static partial class InferenceLog
{
    [LoggerMessage(1, LogLevel.Critical, "Loading the model repository failed")]
    public static partial void RepositoryLoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(2, LogLevel.Information, "Model repository {Path}: {Count} models found")]
    public static partial void RepositoryScanned(ILogger logger, string path, int count);

    [LoggerMessage(3, LogLevel.Information, "Model {Model} ready, versions {Versions}")]
    public static partial void ModelReady(ILogger logger, string model, string versions);

    [LoggerMessage(4, LogLevel.Warning, "Model {Model} refused a request: its queue is full")]
    public static partial void QueueFull(ILogger logger, string model);

    [LoggerMessage(5, LogLevel.Error, "Model {Model} failed a request")]
    public static partial void ExecutionFailed(ILogger logger, string model, Exception exception);

    [LoggerMessage(6, LogLevel.Error, "Model unavailable: {Problem}")]
    public static partial void ModelUnavailable(ILogger logger, string problem);

    [LoggerMessage(7, LogLevel.Information, "Model {Model} {Action} by a model control call")]
    public static partial void ModelControlled(ILogger logger, string model, string action);

    [LoggerMessage(8, LogLevel.Warning, "Warm-up of model {Model} version {Version} on invented inputs failed; the model is served, its first request pays for the allocations: {Reason}")]
    public static partial void InventedWarmUpFailed(ILogger logger, string model, string version, string reason);
}
