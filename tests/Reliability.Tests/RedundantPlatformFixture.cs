using MlPlatform.Platform.Testing;
using MlPlatform.Reliability.Tests.Support;
using MlPlatform.TestSupport;

namespace MlPlatform.Reliability.Tests;

/// <summary>
/// The application with every service redundant: two replicas of each, two gateways. With two gateways the
/// AppHost also starts Redis and has them count rate limits there.
/// </summary>
public sealed class RedundantPlatformFixture : IAsyncLifetime
{
    public RunningPlatform Platform { get; private set; } = null!;

    /// <summary>Sixteen held-out digits as the PNGs a client would upload.</summary>
    public IReadOnlyList<byte[]> Images { get; } = HoldOutDigits.Load().Take(16).Select(digit => DigitImages.BlackOnWhite(digit)).ToArray();

    public async Task InitializeAsync() =>
        Platform = await RunningPlatform.StartAsync(["--AppHost:Replicas:gateway=2"]);

    /// <summary>What stands in front of the gateways: DCP's proxy, as an Ingress would in a cluster.</summary>
    internal RetryingGatewayClient CreateGatewayClient() => new(Platform.ServiceUrl("gateway"));

    /// <summary>Waits until every process of the run is up and healthy; a drill starts from a whole application.</summary>
    public Task WaitUntilAllRunningAsync() => Platform.WaitUntilAllHealthyAsync(TimeSpan.FromSeconds(90));

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class RedundantPlatformCollection : ICollectionFixture<RedundantPlatformFixture>
{
    public const string Name = "redundant platform";
}
