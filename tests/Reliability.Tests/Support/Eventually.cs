using System.Diagnostics;

namespace MlPlatform.Reliability.Tests.Support;

/// <summary>
/// Waits for a condition with a generous deadline. Drills assert that something happens, never how
/// fast: the deadline only keeps a broken run from hanging, and the time it took is returned for the log.
/// </summary>
internal static class Eventually
{
    public static async Task<TimeSpan> WaitAsync(Func<Task<bool>> condition, TimeSpan deadline, string what, TimeSpan? poll = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return watch.Elapsed;
            }

            if (watch.Elapsed > deadline)
            {
                throw new TimeoutException($"{what}: not within {deadline.TotalSeconds:0} s");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(100));
        }
    }

    public static Task<TimeSpan> WaitAsync(Func<bool> condition, TimeSpan deadline, string what, TimeSpan? poll = null) =>
        WaitAsync(() => Task.FromResult(condition()), deadline, what, poll);
}
