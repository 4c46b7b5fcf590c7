using System.Globalization;
using MlPlatform.Platform.Testing;

namespace MlPlatform.Reliability.Tests.Support;

/// <summary>Looks at one replica directly, around the gateway: its health, its Prometheus counters, its memory.</summary>
internal static class ReplicaProbe
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>The route each service's real work is served on, as ASP.NET Core's metrics label it.</summary>
    public static string WorkRoute(string service) => service switch
    {
        "gateway" => "/v1/models/{model}:predict",
        "preprocessing" => "/v1/preprocess/{model}",
        "inference" => "/v2/models/{model}/infer",
        "postprocessing" => "/v1/postprocess/{model}",
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, "no such service"),
    };

    public static async Task<bool> IsHealthyAsync(ReplicaSnapshot replica)
    {
        try
        {
            using var response = await Client.GetAsync(new Uri(replica.ManagementUrl ?? throw new InvalidOperationException($"{replica.ResourceId} has no address"), "/health"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Requests this process answered 2xx on <paramref name="route"/> since it started, from its own
    /// <c>/metrics</c> (<c>http_server_request_duration_seconds_count</c>); 0 when it cannot be scraped.
    /// </summary>
    public static async Task<long> ServedAsync(ReplicaSnapshot replica, string route)
    {
        string text;
        try
        {
            text = await Client.GetStringAsync(new Uri(replica.ManagementUrl ?? throw new InvalidOperationException($"{replica.ResourceId} has no address"), "/metrics"));
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return 0;
        }

        var routeLabel = $"http_route=\"{route}\"";
        long served = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
                && line.Contains(routeLabel, StringComparison.Ordinal)
                && line.Contains("http_response_status_code=\"2", StringComparison.Ordinal))
            {
                var value = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
                served += (long)double.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return served;
    }

    /// <summary>Resident memory of a process in bytes, from <c>/proc/{pid}/status</c>.</summary>
    public static long ResidentBytes(int processId)
    {
        foreach (var line in File.ReadLines($"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = line["VmRSS:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"no VmRSS in /proc/{processId}/status");
    }
}
