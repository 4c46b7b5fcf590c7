using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace MlPlatform.Bench;

/// <summary>
/// Runs Debian's <c>wrk</c> against one URL and reads its summary. A load generator in another process, written
/// in C, so the figure is the server's and not the cost of a .NET client sharing the same two cores.
/// </summary>
internal static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(Uri url, int connections, TimeSpan duration, IReadOnlyDictionary<string, string>? headers = null)
    {
        var start = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // One thread: wrk shares the machine with the proxy and the upstream, and one thread drives 16 connections easily.
        foreach (var argument in (string[])["-t1", $"-c{connections}", $"-d{Math.Max(1, (int)duration.TotalSeconds)}s", "--latency"])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add($"{name}: {value}");
        }

        start.ArgumentList.Add(url.ToString());
        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start; install it with apt-get install wrk");
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 || RequestsPerSecond().Match(output) is not { Success: true } rate)
        {
            throw new InvalidOperationException($"wrk exited with {process.ExitCode}: {error}{output}");
        }

        var non2xx = Non2xx().Match(output) is { Success: true } bad ? int.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socketErrors = SocketErrors().Match(output) is { Success: true } errors
            ? errors.Groups.Values.Skip(1).Sum(g => int.Parse(g.Value, CultureInfo.InvariantCulture))
            : 0;
        return new WrkResult(
            double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture),
            LatencyMilliseconds(output, "50%"),
            LatencyMilliseconds(output, "99%"),
            non2xx + socketErrors);
    }

    /// <summary>The installed wrk's version, as <c>wrk -v</c> prints it ("wrk 4.1.0 [epoll] ...").</summary>
    public static string Version()
    {
        using var process = Process.Start(new ProcessStartInfo("wrk", "-v") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return words.Length > 1 ? words[1] : "(unknown version)";
    }

    /// <summary>A line of wrk's --latency distribution ("50%  1.23ms") in milliseconds.</summary>
    private static double LatencyMilliseconds(string output, string percentile)
    {
        var match = Regex.Match(output, $@"^\s*{Regex.Escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            return double.NaN;
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => value / 1000,
            "s" => value * 1000,
            _ => value,
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}

internal readonly record struct WrkResult(double RequestsPerSecond, double P50Milliseconds, double P99Milliseconds, int Errors)
{
    public override string ToString() =>
        $"{RequestsPerSecond:F0} req/s, p50 {P50Milliseconds:F2} ms, p99 {P99Milliseconds:F2} ms, {Errors} errors";
}
