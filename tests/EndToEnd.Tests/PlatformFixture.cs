using MlPlatform.Platform.Testing;

namespace MlPlatform.EndToEnd.Tests;

/// <summary>The whole application, default replica counts, started once for the tests of one collection.</summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public RunningPlatform Platform { get; private set; } = null!;

    public HttpClient Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Platform = await RunningPlatform.StartAsync([], environment: new Dictionary<string, string>
        {
            // Each service logs every request it serves with the trace it belongs to.
            ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
            ["Logging__Console__FormatterOptions__IncludeScopes"] = "true",
        });
        Gateway = Platform.CreateGatewayClient();
    }

    public async Task DisposeAsync()
    {
        Gateway.Dispose();
        await Platform.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<PlatformFixture>
{
    public const string Name = "platform";
}
