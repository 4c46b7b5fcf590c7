using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MlPlatform.Platform.Testing;

/// <summary>
/// The replicas' console lines, as Aspire.Hosting.Testing forwards them to the host's loggers under the category
/// <c>{AppHost}.Resources.{resource}</c>.
/// </summary>
internal sealed class ConsoleCapture : ILoggerProvider
{
    private const string ResourceCategory = ".Resources.";
    private readonly ConcurrentQueue<(string Resource, string Text)> _lines = new();
    private ConsoleCapture? _forwardTo;

    public IEnumerable<(string Resource, string Text)> Lines => _forwardTo?.Lines ?? _lines;

    public void Forward(ConsoleCapture capture) => _forwardTo = capture;

    public ILogger CreateLogger(string categoryName)
    {
        var marker = categoryName.IndexOf(ResourceCategory, StringComparison.Ordinal);
        return new Logger(this, marker < 0 ? null : categoryName[(marker + ResourceCategory.Length)..]);
    }

    public void Dispose()
    {
    }

    private sealed class Logger(ConsoleCapture owner, string? resource) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => resource is not null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (resource is not null)
            {
                owner._lines.Enqueue((resource, formatter(state, exception)));
            }
        }
    }
}
