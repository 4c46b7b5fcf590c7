using System.Net;
using System.Security.Cryptography;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>Gateway settings that switch the traffic policies on, and a load loop for rate-limit tests.</summary>
internal static class PolicySettings
{
    public const string AliceKey = "alice-key-0123456789";
    public const string BobKey = "bob-key-9876543210";
    public const string UnicodeKey = "ключ-🔑-clé";

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Key auth and rate limiting on for every route group, consumers alice, bob and unicode, limits as given.</summary>
    public static Dictionary<string, string?> On(long? second = null, long? hour = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway__KeyAuth__Consumers__alice-id__Username"] = "alice",
            ["Gateway__KeyAuth__Consumers__alice-id__KeyHashes__0"] = Hash(AliceKey),
            ["Gateway__KeyAuth__Consumers__bob-id__Username"] = "bob",
            ["Gateway__KeyAuth__Consumers__bob-id__KeyHashes__0"] = Hash(BobKey),
            ["Gateway__KeyAuth__Consumers__unicode-id__Username"] = "unicode",
            ["Gateway__KeyAuth__Consumers__unicode-id__KeyHashes__0"] = Hash(UnicodeKey),
            ["Gateway__RateLimiting__ExposeWindowStart"] = "true",
            ["Gateway__RateLimiting__Second"] = (second ?? 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Gateway__RateLimiting__Hour"] = (hour ?? 100_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var group in GatewayProcess.RouteGroups)
        {
            settings[$"Gateway__KeyAuth__RouteGroups__{group}"] = "true";
            settings[$"Gateway__RateLimiting__RouteGroups__{group}"] = "true";
        }

        return settings;
    }

    public static HttpRequestMessage Get(string path, string? key = AliceKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("apikey", key);
        }

        return request;
    }

    /// <summary>
    /// <paramref name="clients"/> clients send requests with <paramref name="key"/> (alice's unless given) for <paramref name="duration"/>, spread over
    /// <paramref name="gateways"/>. Each 200 is filed under the second window the gateway counted it in (its
    /// X-RateLimit-Window-Start-Second header), so a window's count is what the limiter decided, not when a reply arrived.
    /// </summary>
    public static async Task<HammerResult> HammerAsync(
        IReadOnlyList<ServiceProcess> gateways, int clients, TimeSpan duration, string path = "/v2/hammer", string key = AliceKey)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var passed = new System.Collections.Concurrent.ConcurrentDictionary<long, int>();
        var rejected = 0;
        var other = new System.Collections.Concurrent.ConcurrentBag<int>();
        var started = DateTimeOffset.UtcNow;
        var until = started + duration;

        async Task LoopAsync(int index)
        {
            var gateway = gateways[index % gateways.Count];
            while (DateTimeOffset.UtcNow < until)
            {
                using var request = Get(new Uri(gateway.BaseAddress, path).ToString(), key);
                using var response = await client.SendAsync(request);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.OK:
                        // No header: passed without being counted (counters unreachable); filed under window 0.
                        var header = GatewayHttp.Header(response, "X-RateLimit-Window-Start-Second");
                        var window = header is null ? 0 : long.Parse(header, System.Globalization.CultureInfo.InvariantCulture);
                        passed.AddOrUpdate(window, 1, (_, count) => count + 1);
                        break;
                    case HttpStatusCode.TooManyRequests:
                        Interlocked.Increment(ref rejected);
                        break;
                    default:
                        other.Add((int)response.StatusCode);
                        break;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, clients).Select(LoopAsync));
        // A request sent just before the end can be counted just after it, in the next second: the range a window may
        // fall in ends when the last reply came, while the windows the load covered whole end with the load.
        var finished = DateTimeOffset.UtcNow;
        return new HammerResult(
            new SortedDictionary<long, int>(passed), rejected, [.. other], started.ToUnixTimeSeconds(), until.ToUnixTimeSeconds(), finished.ToUnixTimeSeconds());
    }
}

internal sealed record HammerResult(
    SortedDictionary<long, int> PassedByWindow, int Rejected, int[] OtherStatuses, long FirstSecond, long LastSecond, long FinishedSecond)
{
    /// <summary>Exactly <paramref name="limit"/> in every window the load covered whole, never more in any.</summary>
    public void AssertExact(int limit, int expectedWindows, int demandFactor = 20)
    {
        Assert.Empty(OtherStatuses);
        var windows = PassedByWindow.Keys.ToArray();
        Assert.All(PassedByWindow, pair => Assert.InRange(pair.Value, 1, limit));
        // Every window is one the test ran in, by the test's own clock (same machine).
        Assert.All(windows, window => Assert.InRange(window, FirstSecond, FinishedSecond));
        // The first and last windows may be cut by the test's start and end; every window between is whole.
        var inner = windows.Where(w => w > FirstSecond && w < LastSecond).ToArray();
        Assert.True(inner.Length >= expectedWindows - 2, $"only {inner.Length} whole windows: {string.Join(", ", PassedByWindow)}");
        Assert.All(inner, window => Assert.Equal(limit, PassedByWindow[window]));
        // Demand far above the limit, or exactness would prove nothing.
        Assert.True(Rejected > demandFactor * PassedByWindow.Values.Sum(), $"only {Rejected} rejected");
    }
}
