using System.Diagnostics;

namespace MlPlatform.Bench;

/// <summary>Times a call made over and over on the calling thread.</summary>
internal static class CallTimer
{
    /// <summary>Microseconds a call, calling <paramref name="run"/> for about <paramref name="duration"/> (16 calls at least).</summary>
    public static double MicrosecondsPerCall(Action run, TimeSpan duration)
    {
        var (calls, elapsed) = Repeat(run, duration);
        return elapsed.TotalMicroseconds / calls;
    }

    /// <summary>Calls <paramref name="run"/> for about <paramref name="duration"/>, 16 calls at least; how many calls, in how long.</summary>
    public static (long Calls, TimeSpan Elapsed) Repeat(Action run, TimeSpan duration)
    {
        long calls = 0;
        var started = Stopwatch.GetTimestamp();
        TimeSpan elapsed;
        do
        {
            // Several calls between clock reads, so reading the clock costs nothing next to a call.
            for (var i = 0; i < 16; i++)
            {
                run();
            }

            calls += 16;
            elapsed = Stopwatch.GetElapsedTime(started);
        }
        while (elapsed < duration);

        return (calls, elapsed);
    }
}
