namespace MlPlatform.Preprocessing.Diagnostics;

internal static partial class PreprocessingLog
{
    [LoggerMessage(1, LogLevel.Error, "Model {Model} has a preprocess section the service cannot run: {Problems}")]
    public static partial void InvalidPreprocessConfig(ILogger logger, string model, string problems);

    [LoggerMessage(2, LogLevel.Warning, "The config of model {Model} could not be read from the inference service: {Reason}")]
    public static partial void ConfigUnavailable(ILogger logger, string model, string reason);

    [LoggerMessage(3, LogLevel.Information, "Refused an image for model {Model}: {Reason}")]
    public static partial void ImageRefused(ILogger logger, string model, string reason);

    [LoggerMessage(4, LogLevel.Debug, "Model {Model}: {Instances} instances preprocessed")]
    public static partial void Preprocessed(ILogger logger, string model, int instances);
}
