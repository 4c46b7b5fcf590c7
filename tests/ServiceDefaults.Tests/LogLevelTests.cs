using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MlPlatform.ServiceDefaults.Tests;

/// <summary>Calls between services write no per-request lines at the default settings, and configuration can turn them back on.</summary>
public sealed class LogLevelTests
{
    [Fact]
    public async Task HttpClientCall_DefaultSettings_LogsNothingFromHttpClientOrPolly()
    {
        var entries = await CallBackendAsync(new Dictionary<string, string?>());

        Assert.DoesNotContain(entries, entry => entry.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, entry => entry.Category.StartsWith("Polly", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HttpClientCall_CategoriesSetInConfiguration_LogsTheirLinesAgain()
    {
        var entries = await CallBackendAsync(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Information",
            ["Logging:LogLevel:Polly"] = "Information",
        });

        Assert.Contains(entries, entry => entry.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal)
            && entry.Message.StartsWith("Start processing HTTP request", StringComparison.Ordinal));
        Assert.Contains(entries, entry => entry.Category == "Polly" && entry.Message.StartsWith("Execution attempt", StringComparison.Ordinal));
    }

    private static async Task<IReadOnlyCollection<(string Category, LogLevel Level, string Message)>> CallBackendAsync(Dictionary<string, string?> settings)
    {
        await using var backend = await LoopbackApp.StartAsync(_ => { }, app => app.MapGet("/ping", () => Results.Text("pong")), serviceDefaults: false);
        var capture = new CapturingLoggerProvider();
        settings["services:backend:http:0"] = backend.Address.ToString();
        settings["Logging:LogLevel:Default"] = "Information";
        await using var service = await LoopbackApp.StartAsync(
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings);
                builder.Logging.AddProvider(capture);
            },
            _ => { });
        var client = service.App.Services.GetRequiredService<IHttpClientFactory>().CreateClient("backend");

        Assert.Equal("pong", await client.GetStringAsync("http://backend/ping"));
        return capture.Entries;
    }
}
