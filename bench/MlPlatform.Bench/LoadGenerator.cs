using System.Diagnostics;

namespace MlPlatform.Bench;

/// <summary>
/// A closed-loop load generator: a fixed number of clients each send a request as soon as the
/// previous one is answered, for a fixed time. Used where wrk cannot build the body (binary tensors).
/// </summary>
internal static class LoadGenerator
{
    public static Task<LoadResult> RunAsync(
        HttpClient client, Func<HttpRequestMessage> createRequest, int concurrency, TimeSpan duration, CancellationToken cancellationToken = default) =>
        RunCallsAsync(
            async () =>
            {
                using var request = createRequest();
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                return response.IsSuccessStatusCode;
            },
            concurrency,
            duration,
            cancellationToken);

    /// <summary>The closed loop over any call, for clients that are not an <see cref="HttpClient"/> (gRPC) as for those that are.</summary>
    /// <param name="call">One request; true when it succeeded.</param>
    public static async Task<LoadResult> RunCallsAsync(Func<Task<bool>> call, int concurrency, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var latencies = new List<double>[concurrency];
        var failures = 0;

        async Task ClientLoopAsync(int index)
        {
            var mine = latencies[index] = new List<double>(1024);
            while (stopwatch.Elapsed < duration && !cancellationToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                if (await call())
                {
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(ClientLoopAsync));
        var elapsed = stopwatch.Elapsed;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new LoadResult(all.Length, failures, elapsed, Percentile(all, 0.5), Percentile(all, 0.99));
    }

    /// <summary>
    /// An open-loop load: requests start at a fixed rate whether or not earlier ones are answered, so a slow
    /// answer does not slow the load down and hide itself (no coordinated omission). Each latency counts from
    /// when its request was handed to the client: a timer wakes up to a millisecond late here, and counting
    /// from the due time would charge that to the server.
    /// </summary>
    public static async Task<LoadResult> RunAtRateAsync(HttpClient client, Func<HttpRequestMessage> createRequest, double requestsPerSecond, TimeSpan duration)
    {
        var interval = TimeSpan.FromSeconds(1 / requestsPerSecond);
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var failures = 0;
        var inFlight = new List<Task>();
        var stopwatch = Stopwatch.StartNew();

        async Task SendAsync()
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var request = createRequest();
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                if (response.IsSuccessStatusCode)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Interlocked.Increment(ref failures);
        }

        var start = Stopwatch.GetTimestamp();
        for (long sent = 0; stopwatch.Elapsed < duration; sent++)
        {
            var due = start + (long)(sent * interval.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            inFlight.Add(SendAsync());
        }

        await Task.WhenAll(inFlight);
        var all = latencies.Order().ToArray();
        return new LoadResult(all.Length, failures, stopwatch.Elapsed, Percentile(all, 0.5), Percentile(all, 0.99));
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];
}

internal readonly record struct LoadResult(int Completed, int Failed, TimeSpan Elapsed, double P50Milliseconds, double P99Milliseconds)
{
    public double RequestsPerSecond => Completed / Elapsed.TotalSeconds;

    public override string ToString() =>
        $"{Completed} ok, {Failed} failed in {Elapsed.TotalSeconds:F1} s = {RequestsPerSecond:F1} req/s, p50 {P50Milliseconds:F1} ms, p99 {P99Milliseconds:F1} ms";
}

internal static class ResultStatistics
{
    /// <summary>The median over rounds of one figure: a single slow round does not move it.</summary>
    public static double Median<T>(this IEnumerable<T> results, Func<T, double> selector)
    {
        var values = results.Select(selector).Order().ToArray();
        return values.Length == 0 ? double.NaN : values[values.Length / 2];
    }
}
