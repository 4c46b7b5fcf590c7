using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// What the gateway's traffic policy costs: requests/s through the gateway to one cheap upstream with no
/// policy, with key-auth, with key-auth and a local rate limit that is never reached, and with key-auth and
/// the same limit counted in Redis, and with no policy but a timeout on the route group; each as a ratio to no
/// policy, measured in the same run.
/// </summary>
internal static class GatewayPolicy
{
    public const string Id = "gateway-policy";

    internal const string Key = "bench-key-0123456789";

    /// <summary>The key of the <paramref name="index"/>th of many consumers, when a variant has more than the one the load uses.</summary>
    internal static string ConsumerKey(int index) => $"consumer-key-{index:D6}";

    public static async Task RunAsync(BenchSettings settings)
    {
        await using var upstream = await CheapUpstream.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        {
            var variants = new (string Name, Dictionary<string, string?> Settings)[]
            {
                ("no policy (reference)", Settings(upstream.Address, auth: false, rateLimit: null)),
                ("key-auth", Settings(upstream.Address, auth: true, rateLimit: null)),
                ("key-auth + local rate limit", Settings(upstream.Address, auth: true, rateLimit: "local")),
                ("key-auth + Redis rate limit", Settings(upstream.Address, auth: true, rateLimit: "redis")),
                ("route-group timeout", WithRouteTimeout(Settings(upstream.Address, auth: false, rateLimit: null))),
            };
            foreach (var variant in variants)
            {
                variant.Settings["ConnectionStrings__redis"] = redis.ConnectionString;
            }

            var gateways = new List<ServiceProcess>();
            try
            {
                foreach (var variant in variants)
                {
                    gateways.Add(await ServiceProcess.StartGatewayAsync(variant.Settings));
                }

                var (results, rates, concurrency) = await MeasureAsync(gateways, [.. variants.Select(v => v.Name)], settings);
                var body = new StringBuilder()
                    .AppendLine(CultureInfo.InvariantCulture, $"`GET /v2/models/tiny/ready` through one gateway (Release build, its own process) to an in-process Kestrel upstream answering 15 bytes; one gateway per variant, all started at once, {concurrency} concurrent clients, {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s; a real redis-server on loopback for the Redis variant. Rate limits are 1e9 a second and 1e12 an hour, so every request is counted and none refused. Client errors: {results.Sum(r => r.Sum(x => x.Failed))}.")
                    .AppendLine();
                AppendTable(body, "policy", "ratio to no policy", [.. variants.Select(v => v.Name)], results, rates);
                body.AppendLine()
                    .AppendLine(CultureInfo.InvariantCulture, $"**key-auth + local = {rates[2] / rates[0]:F2}x** (goal at least 0.85x); **key-auth + Redis = {rates[3] / rates[0]:F2}x** (goal at least 0.6x). Kong publishes 0.74x for key-auth + rate-limiting. A 30 s timeout on the route group (`Gateway:RouteGroups:inference:Timeout`, ASP.NET Core's request timeouts on YARP's route) costs {1 - (rates[4] / rates[0]):P0} of the rate with no policy.")
                    .AppendLine()
                    .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
                Console.WriteLine($"key-auth {rates[1] / rates[0]:F2}x, +local {rates[2] / rates[0]:F2}x, +redis {rates[3] / rates[0]:F2}x");
                ResultsFile.WriteSection(Id, "Gateway traffic policy: key-auth and rate limiting vs no policy", body.ToString());
            }
            finally
            {
                foreach (var gateway in gateways)
                {
                    await gateway.DisposeAsync();
                }
            }
        }
    }

    /// <summary>
    /// <c>GET /v2/models/tiny/ready</c> with the benchmark's key through each of <paramref name="gateways"/>, in
    /// interleaved rounds; each variant's results, its rate, and the concurrency it ran at.
    /// </summary>
    internal static async Task<(List<LoadResult>[] Results, double[] Rates, int Concurrency)> MeasureAsync(
        IReadOnlyList<ServiceProcess> gateways, string[] names, BenchSettings settings)
    {
        var concurrency = settings.Concurrency * 4;
        var clients = gateways.Select(g => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = g.BaseAddress }).ToArray();
        static HttpRequestMessage Request()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/v2/models/tiny/ready");
            request.Headers.Add("apikey", Key);
            return request;
        }

        try
        {
            var results = await RunInterleavedAsync(clients, names, Request, concurrency, settings);
            return (results, [.. results.Select(r => r.Sum(x => x.Completed) / r.Sum(x => x.Elapsed.TotalSeconds))], concurrency);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>One row a variant: its rate, median p50 and p99, and its ratio to the first.</summary>
    internal static void AppendTable(StringBuilder body, string variantColumn, string ratioColumn, string[] names, List<LoadResult>[] results, double[] rates)
    {
        body.AppendLine(CultureInfo.InvariantCulture, $"| {variantColumn} | requests/s | p50 ms | p99 ms | {ratioColumn} |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: |");
        for (var i = 0; i < names.Length; i++)
        {
            body.AppendLine(CultureInfo.InvariantCulture, $"| {names[i]} | {rates[i]:F0} | {results[i].Median(r => r.P50Milliseconds):F2} | {results[i].Median(r => r.P99Milliseconds):F2} | {rates[i] / rates[0]:F2}x |");
        }
    }

    /// <summary>
    /// Warms every client up, then runs them in interleaved rounds, so drift in the machine's speed falls on every
    /// variant alike; the results of each variant's rounds.
    /// </summary>
    internal static async Task<List<LoadResult>[]> RunInterleavedAsync(
        HttpClient[] clients, string[] names, Func<HttpRequestMessage> request, int concurrency, BenchSettings settings)
    {
        foreach (var client in clients)
        {
            await LoadGenerator.RunAsync(client, request, concurrency, settings.Warmup);
        }

        var results = clients.Select(_ => new List<LoadResult>()).ToArray();
        for (var round = 0; round < settings.Rounds; round++)
        {
            for (var i = 0; i < clients.Length; i++)
            {
                results[i].Add(await LoadGenerator.RunAsync(clients[i], request, concurrency, settings.Duration));
                Console.WriteLine($"round {round + 1}: {names[i]}: {results[i][^1]}");
            }
        }

        return results;
    }

    /// <summary>The same settings with a timeout on the route group the benchmark's requests take.</summary>
    private static Dictionary<string, string?> WithRouteTimeout(Dictionary<string, string?> settings)
    {
        settings["Gateway__RouteGroups__inference__Timeout"] = "00:00:30";
        return settings;
    }

    /// <summary>A gateway's environment that sends every route to <paramref name="upstream"/>, with or without key-auth and a rate limit.</summary>
    internal static Dictionary<string, string?> Settings(Uri upstream, bool auth, string? rateLimit, int extraConsumers = 0)
    {
        var settings = new Dictionary<string, string?>(BenchApplication.QuietLogging())
        {
            ["Gateway__KeyAuth__Consumers__bench__Username"] = "bench",
            ["Gateway__KeyAuth__Consumers__bench__KeyHashes__0"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key))),
            ["Gateway__RateLimiting__Second"] = "1000000000",
            ["Gateway__RateLimiting__Hour"] = "1000000000000",
            ["Gateway__RateLimiting__Policy"] = rateLimit ?? "local",
        };
        for (var i = 0; i < extraConsumers; i++)
        {
            settings[$"Gateway__KeyAuth__Consumers__consumer-{i}__Username"] = $"consumer-{i}";
            settings[$"Gateway__KeyAuth__Consumers__consumer-{i}__KeyHashes__0"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ConsumerKey(i))));
        }

        foreach (var service in (string[])["preprocessing", "inference", "postprocessing"])
        {
            settings[$"services__{service}__http__0"] = upstream.ToString().TrimEnd('/');
        }

        foreach (var group in (string[])["predict", "inference", "preprocessing", "postprocessing"])
        {
            settings[$"Gateway__KeyAuth__RouteGroups__{group}"] = auth ? "true" : "false";
            settings[$"Gateway__RateLimiting__RouteGroups__{group}"] = rateLimit is null ? "false" : "true";
        }

        return settings;
    }
}
