namespace MlPlatform.Contracts.Protocol;

/// <summary>
/// A body that does not follow the protocol. The message is written for the client that sent it:
/// it names the field at fault and never carries internal detail.
/// </summary>
public sealed class InferenceProtocolException(string message) : Exception(message);
