using MlPlatform.Gateway.Http;

namespace MlPlatform.Gateway.KeyAuth;

/// <summary>Headers the gateway sets for upstream services and a client may never set itself.</summary>
internal static class UpstreamHeaders
{
    public const string ConsumerId = "X-Consumer-ID";
    public const string ConsumerUsername = "X-Consumer-Username";

    public static bool IsProtected(string header) =>
        string.Equals(header, ConsumerId, StringComparison.OrdinalIgnoreCase)
        || string.Equals(header, ConsumerUsername, StringComparison.OrdinalIgnoreCase)
        || string.Equals(header, RequestId.HeaderName, StringComparison.OrdinalIgnoreCase);
}
