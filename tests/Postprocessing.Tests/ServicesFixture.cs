using System.Globalization;
using MlPlatform.TestSupport;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>
/// The inference service over a repository of test models and the bundled digit model, and the
/// postprocessing service that reads its configs, both real processes on loopback ports.
/// </summary>
public sealed class ServicesFixture : IAsyncLifetime
{
    /// <summary>Small enough that a test can cross it cheaply, large enough for every real response here.</summary>
    public const long BodyLimit = 64 * 1024;

    public string Repository { get; } = TestModels.CreateRepository();

    public ServiceProcess Inference { get; private set; } = null!;

    public ServiceProcess Postprocessing { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Inference = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>
        {
            ["Inference__ModelRepository"] = Repository,
        }, readyPath: "/v2/health/ready");

        Postprocessing = await ServiceProcess.StartAsync("Services/Postprocessing", "MlPlatform.Postprocessing", new Dictionary<string, string?>
        {
            ["services__inference__http__0"] = Inference.BaseAddress.ToString(),
            ["Postprocessing__MaxRequestBodyBytes"] = BodyLimit.ToString(CultureInfo.InvariantCulture),
        });
    }

    public async Task DisposeAsync()
    {
        if (Postprocessing is not null)
        {
            await Postprocessing.DisposeAsync();
        }

        if (Inference is not null)
        {
            await Inference.DisposeAsync();
        }

        Directory.Delete(Repository, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class ServicesCollection : ICollectionFixture<ServicesFixture>
{
    public const string Name = "services";
}
