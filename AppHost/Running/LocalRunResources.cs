using MlPlatform.Dashboard.Resources;

namespace MlPlatform.AppHost.Running;

/// <summary>The local run as the dashboard sees it: snapshots of every process, their consoles, and stop/start/restart.</summary>
internal sealed class LocalRunResources : IResourceSource, IDisposable
{
    private static readonly string[] SecretMarkers = ["KEY", "SECRET", "TOKEN", "PASSWORD", "HEADERS", "CONNECTIONSTRINGS"];
    private const string Masked = "********";

    private readonly LocalRun _run;

    public LocalRunResources(LocalRun run)
    {
        _run = run;
        _run.Console.LineWritten += OnLineWritten;
    }

    public event Action<ResourceConsoleLine>? ConsoleLineWritten;

    public IReadOnlyList<ResourceSnapshot> GetResources() => _run.Processes.Select(Snapshot).ToList();

    public IReadOnlyList<ResourceConsoleLine> GetConsoleLines(string? resource) =>
        _run.Console.Snapshot(resource is null ? "" : resource)
            .Where(line => resource is null || line.Replica == resource)
            .Select(ToResourceLine)
            .ToList();

    public async Task<bool> ExecuteAsync(string resource, ResourceCommand command, CancellationToken cancellationToken)
    {
        if (_run.Find(resource) is not { } process)
        {
            return false;
        }

        _run.Console.Note($"{resource}: {command.ToString().ToLowerInvariant()} requested from the dashboard");
        switch (command)
        {
            case ResourceCommand.Stop:
                await _run.StopAsync(process).WaitAsync(cancellationToken).ConfigureAwait(false);
                break;
            case ResourceCommand.Start:
                _run.Start(process);
                break;
            case ResourceCommand.Restart:
                await _run.RestartAsync(process).WaitAsync(cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, null);
        }

        return true;
    }

    private static ResourceSnapshot Snapshot(SupervisedProcess process)
    {
        var (service, kind) = process switch
        {
            Replica replica => (replica.Service.Name, "project"),
            ExecutableProcess executable => (executable.Resource.Name, "executable"),
            _ => (process.Name, "process"),
        };
        var health = process.State switch
        {
            ReplicaState.Running => "healthy",
            ReplicaState.Unhealthy => "unhealthy",
            _ => "unknown",
        };
        return new ResourceSnapshot(
            process.Name,
            service,
            kind,
            process.State.ToString().ToLowerInvariant(),
            health,
            process.ProcessId,
            process.Url,
            process.RestartCount,
            process.LastExitCode,
            InstanceId(process.Environment),
            process.Environment.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(Variable).ToList());
    }

    private static EnvironmentVariable Variable(KeyValuePair<string, string> pair)
    {
        var upper = pair.Key.ToUpperInvariant();
        var secret = SecretMarkers.Any(marker => upper.Contains(marker, StringComparison.Ordinal));
        return new EnvironmentVariable(pair.Key, secret ? Masked : pair.Value, secret);
    }

    /// <summary>The <c>service.instance.id</c> its telemetry carries, from the variable the run gave it.</summary>
    private static string? InstanceId(IReadOnlyDictionary<string, string> environment)
    {
        if (!environment.TryGetValue("OTEL_RESOURCE_ATTRIBUTES", out var attributes))
        {
            return null;
        }

        foreach (var attribute in attributes.Split(',', StringSplitOptions.TrimEntries))
        {
            if (attribute.StartsWith("service.instance.id=", StringComparison.Ordinal))
            {
                return attribute["service.instance.id=".Length..];
            }
        }

        return null;
    }

    private static ResourceConsoleLine ToResourceLine(ConsoleLine line) => new(line.Timestamp, line.Replica, line.Text, line.IsError);

    private void OnLineWritten(ConsoleLine line) => ConsoleLineWritten?.Invoke(ToResourceLine(line));

    public void Dispose() => _run.Console.LineWritten -= OnLineWritten;
}
