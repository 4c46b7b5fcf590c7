namespace MlPlatform.AppHost.Running;

/// <summary>One line a replica wrote, with when and on which stream.</summary>
public readonly record struct ConsoleLine(DateTimeOffset Timestamp, string Replica, string Text, bool IsError);

/// <summary>
/// Every replica's console, prefixed with its name on the AppHost's own console, and kept in a
/// bounded buffer per replica (oldest lines dropped) for tests and the dashboard.
/// </summary>
public sealed class ConsoleLog(int linesPerReplica = 5000, bool echo = true)
{
    private static readonly string[] Colors = ["\u001b[36m", "\u001b[33m", "\u001b[35m", "\u001b[32m", "\u001b[34m", "\u001b[91m", "\u001b[96m", "\u001b[93m"];
    private static readonly bool UseColor = !Console.IsOutputRedirected && System.Environment.GetEnvironmentVariable("NO_COLOR") is null;

    private readonly Dictionary<string, Queue<ConsoleLine>> _lines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _colors = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Raised for every line, after it is stored.</summary>
    public event Action<ConsoleLine>? LineWritten;

    public void Write(string replica, string text, bool isError)
    {
        var line = new ConsoleLine(DateTimeOffset.UtcNow, replica, text, isError);
        lock (_lock)
        {
            if (!_lines.TryGetValue(replica, out var queue))
            {
                _lines[replica] = queue = new Queue<ConsoleLine>();
                _colors[replica] = Colors[_colors.Count % Colors.Length];
            }

            if (queue.Count == linesPerReplica)
            {
                queue.Dequeue();
            }

            queue.Enqueue(line);
            if (echo)
            {
                Console.Out.WriteLine(UseColor ? $"{_colors[replica]}{replica,-16}\u001b[0m| {text}" : $"{replica,-16}| {text}");
            }
        }

        LineWritten?.Invoke(line);
    }

    /// <summary>A note from the AppHost itself, under its own name.</summary>
    public void Note(string text) => Write("apphost", text, isError: false);

    /// <summary>The lines kept for the replicas whose names start with <paramref name="prefix"/>, oldest first.</summary>
    public IReadOnlyList<ConsoleLine> Snapshot(string prefix = "")
    {
        lock (_lock)
        {
            return _lines.Where(pair => pair.Key.StartsWith(prefix, StringComparison.Ordinal))
                .SelectMany(pair => pair.Value)
                .OrderBy(line => line.Timestamp)
                .ToList();
        }
    }
}
