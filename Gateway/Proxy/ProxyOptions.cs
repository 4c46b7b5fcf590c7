using System.ComponentModel.DataAnnotations;

namespace MlPlatform.Gateway.Proxy;

/// <summary>
/// How the gateway reaches the replicas of its backend services, for proxied requests and predict hops alike:
/// timeouts, retries and health, from the <c>Gateway</c> configuration section.
/// </summary>
public sealed class ProxyOptions
{
    public const string SectionName = "Gateway";

    /// <summary>
    /// How long one hop of a prediction may take, every replica tried included; also the proxied routes'
    /// limit between two reads or writes. Past it the client gets 504.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan HopTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long opening a connection to a replica may take before the next replica is tried.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a connection to a service address is reused before a new one is opened. A Kubernetes Service and
    /// DCP's proxy balance connections, not requests: a replica that comes back (or is added) only gets work on
    /// connections opened after it, so this bounds how long the others carry its share. The AppHost sets it to a
    /// few seconds for local runs, where a restarted replica should be back at full share within seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ConnectionLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Attempts for one hop or one proxied request, the first included: each to a replica not tried yet
    /// while one is left, then to those already tried (with one Service address, that address again).
    /// </summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// The pause before an attempt goes to an address already tried for the same request. Behind one
    /// Service address the next connection usually lands on another replica; the pause gives the proxy in
    /// front of them a moment to notice the one that failed, without holding the client noticeably longer.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest response a hop may send back; the gateway holds each hop's response whole.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxHopResponseBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>How often every replica's <c>/health</c> is probed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one probe may take before it counts as failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Failed probes in a row that take a replica out of rotation; one good probe brings it back.</summary>
    [Range(1, 100)]
    public int HealthCheckConsecutiveFailures { get; set; } = 2;

    /// <summary>Share of failed transport attempts, over YARP's detection window, that takes a replica out of rotation.</summary>
    [Range(0.01, 1.0)]
    public double TransportFailureRateLimit { get; set; } = 0.3;

    /// <summary>How long a replica taken out by a transport failure stays out before it gets traffic again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ReactivationPeriod { get; set; } = TimeSpan.FromSeconds(10);
}
