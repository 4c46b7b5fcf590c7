namespace MlPlatform.AppHost.Redis;

/// <summary>
/// A Redis server run from <c>redis-server</c> on PATH, for machines without a container runtime (which
/// Aspire.Hosting.Redis needs). Its connection string is <c>host:port</c>, as Aspire's Redis resource gives one.
/// </summary>
public sealed class RedisServerResource(string name, string command)
    : ExecutableResource(name, command, workingDirectory: Path.GetTempPath()), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    /// <summary>The image a cluster runs it from.</summary>
    public const string Image = "redis:7-alpine";

    /// <summary>The port it listens on in its container.</summary>
    public const int ContainerPort = 6379;

    private EndpointReference? _endpoint;

    public EndpointReference PrimaryEndpoint => _endpoint ??= new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}
