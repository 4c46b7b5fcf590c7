namespace MlPlatform.Dashboard.Resources;

/// <summary>
/// What the dashboard knows of the application's processes: the orchestrator (the AppHost's local
/// run) implements it, so the dashboard never depends on how processes are started.
/// </summary>
public interface IResourceSource
{
    /// <summary>Every resource (replica or executable) as it is now, in start order.</summary>
    IReadOnlyList<ResourceSnapshot> GetResources();

    /// <summary>The console lines kept for one resource, or for all of them interleaved when <paramref name="resource"/> is null; oldest first.</summary>
    IReadOnlyList<ResourceConsoleLine> GetConsoleLines(string? resource);

    /// <summary>Raised for every console line as it is written, on the writer's thread.</summary>
    event Action<ResourceConsoleLine>? ConsoleLineWritten;

    /// <summary>Stops, starts or restarts one resource; false when no resource has that name.</summary>
    Task<bool> ExecuteAsync(string resource, ResourceCommand command, CancellationToken cancellationToken);
}

public enum ResourceCommand
{
    Stop,
    Start,
    Restart,
}

/// <summary>One replica or executable. <see cref="InstanceId"/> is the <c>service.instance.id</c> its telemetry carries.</summary>
public sealed record ResourceSnapshot(
    string Name,
    string Service,
    string Kind,
    string State,
    string Health,
    int? ProcessId,
    Uri? Url,
    int RestartCount,
    int? LastExitCode,
    string? InstanceId,
    IReadOnlyList<EnvironmentVariable> Environment);

/// <summary>A variable as the dashboard may show it: <see cref="IsSecret"/> values are already masked.</summary>
public sealed record EnvironmentVariable(string Name, string Value, bool IsSecret);

public readonly record struct ResourceConsoleLine(DateTimeOffset Timestamp, string Resource, string Text, bool IsError);
