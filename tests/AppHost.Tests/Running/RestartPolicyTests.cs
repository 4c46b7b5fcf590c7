using MlPlatform.AppHost.Model;
using MlPlatform.AppHost.Running;
using MlPlatform.TestSupport;

namespace MlPlatform.AppHost.Tests.Running;

/// <summary>How the AppHost restarts a process that exits: at once after a crash of a healthy one, with growing back-off in a crash loop.</summary>
public sealed class RestartPolicyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task HealthyProcessKilled_RestartedAtOnce_KilledAgainWithinAMinute_WaitsItsBackoff()
    {
        var console = new ConsoleLog(echo: false);
        var redis = new ExecutableProcess(Resource("redis", "redis-server", port => ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no"]), LoopbackPort.Free(), console);
        using var stopping = new CancellationTokenSource();
        Assert.True(redis.Supervise(stopping.Token));
        try
        {
            await redis.FirstHealthy.WaitAsync(Deadline);

            redis.Kill();
            await WaitAsync(() => redis.RestartCount == 1 && redis.State == ReplicaState.Running);
            redis.Kill();
            await WaitAsync(() => redis.RestartCount == 2 && redis.State == ReplicaState.Running);

            var notes = Notes(console, "redis-0 exited");
            Assert.Equal(2, notes.Length);
            Assert.EndsWith("; restarting", notes[0]);
            Assert.EndsWith("; restarting in 0.5 s", notes[1]);
        }
        finally
        {
            await redis.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task ProcessThatNeverBecomesHealthy_EachRestartWaitsTwiceAsLong()
    {
        var console = new ConsoleLog(echo: false);
        // Exits at once with code 1, as a service with a bad configuration does.
        var crashing = new ExecutableProcess(Resource("crashing", "false", _ => []), LoopbackPort.Free(), console);
        using var stopping = new CancellationTokenSource();
        Assert.True(crashing.Supervise(stopping.Token));
        try
        {
            await WaitAsync(() => crashing.RestartCount >= 3);

            var notes = Notes(console, "crashing-0 exited");
            Assert.Equal("crashing-0 exited with code 1; restarting in 0.5 s", notes[0]);
            Assert.Equal("crashing-0 exited with code 1; restarting in 1 s", notes[1]);
            Assert.Equal("crashing-0 exited with code 1; restarting in 2 s", notes[2]);
            Assert.False(crashing.FirstHealthy.IsCompleted);
        }
        finally
        {
            await crashing.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    private static ExecutableResource Resource(string name, string command, Func<int, IReadOnlyList<string>> arguments) =>
        new(name, command, arguments, targetPort: 6379, image: "unused", installHint: $"install {command}");

    private static string[] Notes(ConsoleLog console, string start) =>
        [.. console.Snapshot("apphost").Select(line => line.Text).Where(text => text.StartsWith(start, StringComparison.Ordinal))];

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the restart");
            await Task.Delay(50);
        }
    }
}
