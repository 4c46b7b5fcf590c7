namespace MlPlatform.Postprocessing.Diagnostics;

internal static partial class PostprocessingLog
{
    // Client mistakes are the client's to read in the response; at Debug they cannot flood the log.
    [LoggerMessage(1, LogLevel.Debug, "Postprocess request for model {Model} refused with {Status}: {Detail}")]
    public static partial void RequestRefused(ILogger logger, string model, int status, string detail);

    [LoggerMessage(2, LogLevel.Warning, "The config of model {Model} could not be had ({Status}): {Detail}")]
    public static partial void ConfigUnavailable(ILogger logger, string model, int status, string detail);

    [LoggerMessage(3, LogLevel.Warning, "Model {Model} cannot be postprocessed: {Problem}")]
    public static partial void ConfigUnusable(ILogger logger, string model, string problem);

    [LoggerMessage(4, LogLevel.Warning, "Model {Model} has {LabelCount} labels for {ClassCount} classes; classes past the last label are named by index")]
    public static partial void LabelsShort(ILogger logger, string model, int labelCount, int classCount);
}
