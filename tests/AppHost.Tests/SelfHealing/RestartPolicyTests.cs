using MlPlatform.AppHost.SelfHealing;

namespace MlPlatform.AppHost.Tests.SelfHealing;

/// <summary>When a replica that exited on its own is started again: at once after a crash of a healthy one, with growing back-off in a crash loop.</summary>
public sealed class RestartPolicyTests
{
    private const string Replica = "inference-abc123";

    private readonly ManualTimeProvider _time = new();
    private readonly RestartPolicy _policy;

    public RestartPolicyTests() => _policy = new RestartPolicy(_time);

    [Fact]
    public void NextDelay_FirstCrashAfterAHealthyRun_Immediate()
    {
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.Zero, _policy.NextDelay(Replica, TimeSpan.FromSeconds(10), cameUpHealthy: true));
    }

    [Fact]
    public void NextDelay_CrashesWithinAMinute_DoublingFromHalfASecondCappedAtThirty()
    {
        Assert.Equal(TimeSpan.Zero, Crash(after: TimeSpan.FromSeconds(20), healthy: true));

        var delays = Enumerable.Range(0, 9).Select(_ => Crash(after: TimeSpan.FromSeconds(5), healthy: true).TotalSeconds);

        Assert.Equal([0.5, 1, 2, 4, 8, 16, 30, 30, 30], delays);
    }

    [Fact]
    public void NextDelay_RunLongerThanAMinute_ResetsTheBackoff()
    {
        Crash(after: TimeSpan.FromSeconds(20), healthy: true);
        Assert.Equal([0.5, 1, 2, 4], Enumerable.Range(0, 4).Select(_ => Crash(after: TimeSpan.FromSeconds(1), healthy: true).TotalSeconds));

        // It ran for over a minute since the last restart: a crash like the first.
        Assert.Equal(TimeSpan.Zero, Crash(after: TimeSpan.FromSeconds(61), healthy: true));
        Assert.Equal(TimeSpan.FromSeconds(0.5), Crash(after: TimeSpan.FromSeconds(1), healthy: true));
        Assert.Equal(TimeSpan.FromSeconds(1), Crash(after: TimeSpan.FromSeconds(1), healthy: true));
    }

    [Fact]
    public void NextDelay_LongRunThatNeverCameUpHealthy_BackoffStartsAgainButIsNotSkipped()
    {
        Assert.Equal([0.5, 1, 2], Enumerable.Range(0, 3).Select(_ => Crash(after: TimeSpan.FromSeconds(1), healthy: false).TotalSeconds));

        Assert.Equal(TimeSpan.FromSeconds(0.5), Crash(after: TimeSpan.FromSeconds(90), healthy: false));
    }

    [Fact]
    public void NextDelay_NeverCameUpHealthy_AlwaysBacksOffNeverImmediate()
    {
        var delays = Enumerable.Range(0, 8).Select(i => Crash(after: TimeSpan.FromSeconds(i == 0 ? 120 : 2), healthy: false)).ToList();

        Assert.DoesNotContain(TimeSpan.Zero, delays);
        Assert.Equal([0.5, 1, 2, 4, 8, 16, 30, 30], delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public void NextDelay_SecondHealthyCrashAMinuteLater_ImmediateAgain()
    {
        Assert.Equal(TimeSpan.Zero, Crash(after: TimeSpan.FromSeconds(30), healthy: true));

        // Up for 59 s is not a stable run, but the last immediate restart was over a minute ago (61 s).
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.Zero, Crash(after: TimeSpan.FromSeconds(59), healthy: true));
    }

    [Fact]
    public void NextDelay_Replicas_EachHasItsOwnHistory()
    {
        Assert.Equal(TimeSpan.Zero, _policy.NextDelay("inference-a", TimeSpan.FromSeconds(30), cameUpHealthy: true));
        Assert.Equal(TimeSpan.FromSeconds(0.5), _policy.NextDelay("inference-a", TimeSpan.FromSeconds(1), cameUpHealthy: true));

        Assert.Equal(TimeSpan.Zero, _policy.NextDelay("inference-b", TimeSpan.FromSeconds(30), cameUpHealthy: true));
        Assert.Equal(TimeSpan.FromSeconds(0.5), _policy.NextDelay("inference-b", TimeSpan.FromSeconds(1), cameUpHealthy: true));
        Assert.Equal(TimeSpan.FromSeconds(1), _policy.NextDelay("inference-a", TimeSpan.FromSeconds(1), cameUpHealthy: true));
    }

    /// <summary>The replica runs for <paramref name="after"/> (the clock moves on by as much), then exits.</summary>
    private TimeSpan Crash(TimeSpan after, bool healthy)
    {
        _time.Advance(after);
        return _policy.NextDelay(Replica, after, healthy);
    }
}
