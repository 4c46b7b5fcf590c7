using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>
/// The gateway in front of stand-in replicas only: two of preprocessing, one of inference, two of
/// postprocessing, each recording what it receives. Limits are small so tests hit them quickly.
/// </summary>
public sealed class StandInsFixture : IAsyncLifetime
{
    public const int BodyLimit = 64 * 1024;
    public const int PostprocessingBodyLimit = 2048;
    public static readonly TimeSpan HopTimeout = TimeSpan.FromSeconds(2);

    public StandIn[] Preprocessing { get; private set; } = [];

    public StandIn[] Inference { get; private set; } = [];

    public StandIn[] Postprocessing { get; private set; } = [];

    public IEnumerable<StandIn> All => [.. Preprocessing, .. Inference, .. Postprocessing];

    public ServiceProcess Gateway { get; private set; } = null!;

    public HttpClient Client => Gateway.Client;

    public async Task InitializeAsync()
    {
        var started = await Task.WhenAll(
            StandIn.StartAsync("preprocessing-0"),
            StandIn.StartAsync("preprocessing-1"),
            StandIn.StartAsync("inference-0"),
            StandIn.StartAsync("postprocessing-0"),
            StandIn.StartAsync("postprocessing-1"));
        Preprocessing = started[..2];
        Inference = started[2..3];
        Postprocessing = started[3..];

        Gateway = await GatewayProcess.StartAsync(
            new Dictionary<string, Uri[]>
            {
                ["preprocessing"] = Preprocessing.Select(s => s.Address).ToArray(),
                ["inference"] = Inference.Select(s => s.Address).ToArray(),
                ["postprocessing"] = Postprocessing.Select(s => s.Address).ToArray(),
            },
            new Dictionary<string, string?>
            {
                ["Gateway__MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Gateway__RouteMaxRequestBodyBytes__postprocessing"] = PostprocessingBodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Gateway__HopTimeout"] = HopTimeout.ToString(),
            });
    }

    public async Task DisposeAsync()
    {
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        foreach (var standIn in All)
        {
            await standIn.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StandInsCollection : ICollectionFixture<StandInsFixture>
{
    public const string Name = "gateway over stand-ins";
}
