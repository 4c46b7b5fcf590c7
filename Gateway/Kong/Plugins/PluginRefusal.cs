namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// A plugin's answer in place of the upstream's: the caller stops the request and writes it as Kong writes
/// refusals, <c>{"message":"..."}</c> with <see cref="StatusCode"/>.
/// </summary>
public sealed record PluginRefusal(int StatusCode, string Message);
