using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MlPlatform.Dashboard.Resources;
using MlPlatform.Dashboard.Telemetry;

namespace MlPlatform.Dashboard.Tests;

/// <summary>One real dashboard (receiver and UI hosts on free ports) shared by the tests that talk to it over the network.</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string ApiKey = "test-otlp-key-5f2a9c";
    public const string BrowserToken = "test-browser-token";
    public const int MaxExportBytes = 256 * 1024;

    public DashboardServer Server { get; private set; } = null!;

    public TelemetryStore Store => (TelemetryStore)Server.Telemetry;

    public CapturedLogs Logs { get; } = new();

    public async Task InitializeAsync()
    {
        var options = new DashboardOptions
        {
            UiPort = 0,
            OtlpGrpcPort = 0,
            OtlpHttpPort = 0,
            OtlpApiKey = ApiKey,
            BrowserToken = BrowserToken,
            Limits = { MaxExportBytes = MaxExportBytes },
        };
        Server = await DashboardServer.StartAsync(options, new OneResource(), Logs, typeof(DashboardServer).Assembly.GetName().Name!, CancellationToken.None);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>Polls until <paramref name="condition"/> holds; exports arrive asynchronously.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    private sealed class OneResource : IResourceSource
    {
        public event Action<ResourceConsoleLine>? ConsoleLineWritten
        {
            add { }
            remove { }
        }

        public IReadOnlyList<ResourceSnapshot> GetResources() =>
        [
            new("inference-1", "inference", "Project", "Running", "Healthy", 1234, new Uri("http://localhost:5001"), 0, null, "inference-abcdefgh",
                [new EnvironmentVariable("OTEL_EXPORTER_OTLP_HEADERS", "***", true)]),
        ];

        public IReadOnlyList<ResourceConsoleLine> GetConsoleLines(string? resource) => [];

        public Task<bool> ExecuteAsync(string resource, ResourceCommand command, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}

/// <summary>Every line the dashboard's hosts log at Warning or above.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(LogLevel, string, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue((logLevel, category, exception is null ? formatter(state, exception) : $"{formatter(state, exception)} {exception}"));
    }
}
