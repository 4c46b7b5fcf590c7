using MlPlatform.AppHost.Testing;

namespace MlPlatform.EndToEnd.Tests;

/// <summary>The whole application, default replica counts, shared by the tests of one collection.</summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public TestApplication App { get; private set; } = null!;

    public HttpClient Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = await TestApplication.StartAsync(options =>
        {
            // As `dotnet run --project AppHost` does: every replica exports its telemetry to the dashboard.
            options.Dashboard = true;
            // Each service logs every request it serves with the trace it belongs to.
            options.Environment["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information";
            options.Environment["Logging__Console__FormatterOptions__IncludeScopes"] = "true";
        });
        Gateway = App.CreateHttpClient("gateway");
        // The example consumer of Gateway/appsettings.json.
        Gateway.DefaultRequestHeaders.Add("apikey", "dev-key-change-me");
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<PlatformFixture>
{
    public const string Name = "platform";
}
