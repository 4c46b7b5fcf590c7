namespace MlPlatform.Gateway.Diagnostics;

internal static partial class GatewayLog
{
    [LoggerMessage(2, LogLevel.Information, "Refused {Path} on route {Route}: it would reach a service's infrastructure endpoint")]
    public static partial void InfrastructurePathRefused(ILogger logger, string route, string path);

    [LoggerMessage(3, LogLevel.Warning, "Route {Route}: attempt {Attempt} on replica {Destination} failed ({Reason}); trying again")]
    public static partial void ProxyRetrying(ILogger logger, string route, int attempt, string destination, string reason);

    // No exception argument: a failed attempt is expected and handled (it is tried again while attempts are
    // left), and a stack trace per attempt while a replica restarts under load cost the gateway CPU that the
    // restart needed.
    [LoggerMessage(4, LogLevel.Warning, "Hop {Hop}: attempt {Attempt} on replica {Destination} failed: {Reason}")]
    public static partial void HopAttemptFailed(ILogger logger, string hop, int attempt, string destination, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Hop {Hop}: replica {Destination} is out of rotation for {Period} after a transport failure")]
    public static partial void ReplicaTakenOut(ILogger logger, string hop, string destination, TimeSpan period);

    [LoggerMessage(6, LogLevel.Warning, "Hop {Hop} for model {Model} timed out after {Timeout}")]
    public static partial void HopTimedOut(ILogger logger, string hop, string model, TimeSpan timeout);

    [LoggerMessage(7, LogLevel.Warning, "Hop {Hop} for model {Model} failed on every replica tried: {Reason}")]
    public static partial void HopFailed(ILogger logger, string hop, string model, string reason);

    [LoggerMessage(8, LogLevel.Information, "Hop {Hop} rejected a request for model {Model} with {Status}")]
    public static partial void HopRejected(ILogger logger, string hop, string model, int status);

    [LoggerMessage(9, LogLevel.Warning, "Rate-limit counters ({Policy} policy) cannot be reached; fault tolerant: {FaultTolerant} (requests {Outcome})")]
    private static partial void RateLimitCountersUnavailable(ILogger logger, string policy, bool faultTolerant, string outcome);

    public static void RateLimitCountersUnavailable(ILogger logger, string policy, bool faultTolerant) =>
        RateLimitCountersUnavailable(logger, policy, faultTolerant, faultTolerant ? "pass without a limit" : "are refused with 503");

    [LoggerMessage(10, LogLevel.Warning, "Redis ({Key}) is not reachable yet; rate-limit counters are unavailable until it is")]
    public static partial void RedisNotConnected(ILogger logger, string key);

    [LoggerMessage(11, LogLevel.Warning, "{Key} is not set: the gateway serves its /health, /alive and /metrics on no port. Set it (e.g. {Port}) for probes and scrapes")]
    public static partial void NoManagementPort(ILogger logger, string key, int port);
}
