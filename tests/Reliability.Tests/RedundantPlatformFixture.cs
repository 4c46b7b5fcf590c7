using MlPlatform.AppHost.Running;
using MlPlatform.AppHost.Testing;
using MlPlatform.Reliability.Tests.Support;
using MlPlatform.TestSupport;

namespace MlPlatform.Reliability.Tests;

/// <summary>
/// The application with every service redundant: two replicas of each, two gateways. With two gateways the
/// AppHost also starts Redis and has them count rate limits there (<c>MlPlatformApplication</c>).
/// </summary>
public sealed class RedundantPlatformFixture : IAsyncLifetime
{
    public TestApplication App { get; private set; } = null!;

    /// <summary>Sixteen held-out digits as the PNGs a client would upload.</summary>
    public IReadOnlyList<byte[]> Images { get; } = HoldOutDigits.Load().Take(16).Select(digit => DigitImages.BlackOnWhite(digit)).ToArray();

    public async Task InitializeAsync() =>
        App = await TestApplication.StartAsync(options =>
        {
            options.Replicas["gateway"] = 2;
            options.Replicas["preprocessing"] = 2;
            options.Replicas["inference"] = 2;
            options.Replicas["postprocessing"] = 2;
        });

    /// <summary>A load balancer over both gateways, as an Ingress in front of them would be.</summary>
    internal GatewayBalancer CreateBalancer() => new(App.Replicas("gateway").Select(replica => replica.Url));

    /// <summary>Waits until every process of the run is up; a drill starts from a whole application.</summary>
    public Task<TimeSpan> WaitUntilAllRunningAsync() =>
        Eventually.WaitAsync(() => App.Run.Processes.All(process => process.State == ReplicaState.Running), TimeSpan.FromSeconds(60), "every process running");

    public async Task DisposeAsync() => await App.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class RedundantPlatformCollection : ICollectionFixture<RedundantPlatformFixture>
{
    public const string Name = "redundant platform";
}
