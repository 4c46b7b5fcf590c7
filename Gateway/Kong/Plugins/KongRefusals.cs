namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>The refusals the plugins give, with Kong's statuses and messages word for word.</summary>
internal static class KongRefusals
{
    /// <summary>request-size-limiting's, and the request-transformer's when a body is over what may be buffered.</summary>
    public static readonly PluginRefusal SizeLimitExceeded = new(StatusCodes.Status413PayloadTooLarge, "Request size limit exceeded");

    /// <summary>request-size-limiting's when the client waits for <c>100 Continue</c>: it must not send the body at all.</summary>
    public static readonly PluginRefusal SizeLimitExceededBeforeContinue = new(StatusCodes.Status417ExpectationFailed, "Request size limit exceeded");

    public static readonly PluginRefusal ContentLengthRequired = new(StatusCodes.Status411LengthRequired, "A valid Content-Length header is required");

    /// <summary>What Kong answers when a plugin fails at run time, as its PDK does for a path without a leading slash.</summary>
    public static readonly PluginRefusal UnexpectedError = new(StatusCodes.Status500InternalServerError, "An unexpected error occurred");

    /// <summary>A body the server could not read to its end (Kestrel's limit, a broken chunk, a timeout), with Kong's message for the status.</summary>
    public static PluginRefusal ForUnreadableBody(int statusCode) => statusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => SizeLimitExceeded,
        StatusCodes.Status417ExpectationFailed => SizeLimitExceededBeforeContinue,
        StatusCodes.Status408RequestTimeout => new(statusCode, "Request timeout"),
        _ => new(statusCode, "Bad request"),
    };
}
