using System.Diagnostics;

namespace MlPlatform.Bench;

/// <summary>
/// A closed-loop load generator: a fixed number of clients each send a request as soon as the
/// previous one is answered, for a fixed time. Used where wrk cannot build the body (binary tensors).
/// </summary>
internal static class LoadGenerator
{
    public static async Task<LoadResult> RunAsync(
        HttpClient client, Func<HttpRequestMessage> createRequest, int concurrency, TimeSpan duration, CancellationToken cancellationToken = default)
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
                using var request = createRequest();
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                if (response.IsSuccessStatusCode)
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

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];
}

internal readonly record struct LoadResult(int Completed, int Failed, TimeSpan Elapsed, double P50Milliseconds, double P99Milliseconds)
{
    public double RequestsPerSecond => Completed / Elapsed.TotalSeconds;

    public override string ToString() =>
        $"{Completed} ok, {Failed} failed in {Elapsed.TotalSeconds:F1} s = {RequestsPerSecond:F1} req/s, p50 {P50Milliseconds:F1} ms, p99 {P99Milliseconds:F1} ms";
}
