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

    private const string Key = "bench-key-0123456789";

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

                var concurrency = settings.Concurrency * 4;
                var clients = gateways.Select(g => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = g.BaseAddress }).ToArray();
                static HttpRequestMessage Request()
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, "/v2/models/tiny/ready");
                    request.Headers.Add("apikey", Key);
                    return request;
                }

                foreach (var client in clients)
                {
                    await LoadGenerator.RunAsync(client, Request, concurrency, settings.Warmup);
                }

                // Interleaved rounds, so drift in the machine's speed falls on every variant alike.
                var results = variants.Select(_ => new List<LoadResult>()).ToArray();
                for (var round = 0; round < settings.Rounds; round++)
                {
                    for (var i = 0; i < variants.Length; i++)
                    {
                        results[i].Add(await LoadGenerator.RunAsync(clients[i], Request, concurrency, settings.Duration));
                        Console.WriteLine($"round {round + 1}: {variants[i].Name}: {results[i][^1]}");
                    }
                }

                var rates = results.Select(r => r.Sum(x => x.Completed) / r.Sum(x => x.Elapsed.TotalSeconds)).ToArray();
                var body = new StringBuilder()
                    .AppendLine(CultureInfo.InvariantCulture, $"`GET /v2/models/tiny/ready` through one gateway (Release build, its own process) to an in-process Kestrel upstream answering 15 bytes; one gateway per variant, all started at once, {concurrency} concurrent clients, {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s; a real redis-server on loopback for the Redis variant. Rate limits are 1e9 a second and 1e12 an hour, so every request is counted and none refused. Client errors: {results.Sum(r => r.Sum(x => x.Failed))}.")
                    .AppendLine()
                    .AppendLine("| policy | requests/s | p50 ms | p99 ms | ratio to no policy |")
                    .AppendLine("| --- | ---: | ---: | ---: | ---: |");
                for (var i = 0; i < variants.Length; i++)
                {
                    body.AppendLine(CultureInfo.InvariantCulture, $"| {variants[i].Name} | {rates[i]:F0} | {results[i].Median(r => r.P50Milliseconds):F2} | {results[i].Median(r => r.P99Milliseconds):F2} | {rates[i] / rates[0]:F2}x |");
                }

                body.AppendLine()
                    .AppendLine(CultureInfo.InvariantCulture, $"**key-auth + local = {rates[2] / rates[0]:F2}x** (goal at least 0.85x); **key-auth + Redis = {rates[3] / rates[0]:F2}x** (goal at least 0.6x). Kong publishes 0.74x for key-auth + rate-limiting. A 30 s timeout on the route group (`Gateway:RouteGroups:inference:Timeout`, ASP.NET Core's request timeouts on YARP's route) costs {1 - (rates[4] / rates[0]):P0} of the rate with no policy.")
                    .AppendLine()
                    .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
                Console.WriteLine($"key-auth {rates[1] / rates[0]:F2}x, +local {rates[2] / rates[0]:F2}x, +redis {rates[3] / rates[0]:F2}x");
                ResultsFile.WriteSection(Id, "Gateway traffic policy: key-auth and rate limiting vs no policy", body.ToString());
                foreach (var client in clients)
                {
                    client.Dispose();
                }
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

    /// <summary>The same settings with a timeout on the route group the benchmark's requests take.</summary>
    private static Dictionary<string, string?> WithRouteTimeout(Dictionary<string, string?> settings)
    {
        settings["Gateway__RouteGroups__inference__Timeout"] = "00:00:30";
        return settings;
    }

    /// <summary>A gateway's environment that sends every route to <paramref name="upstream"/>, with or without key-auth and a rate limit.</summary>
    internal static Dictionary<string, string?> Settings(Uri upstream, bool auth, string? rateLimit)
    {
        var settings = new Dictionary<string, string?>(BenchApplication.QuietLogging())
        {
            ["Gateway__KeyAuth__Consumers__bench__Username"] = "bench",
            ["Gateway__KeyAuth__Consumers__bench__KeyHashes__0"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key))),
            ["Gateway__RateLimiting__Second"] = "1000000000",
            ["Gateway__RateLimiting__Hour"] = "1000000000000",
            ["Gateway__RateLimiting__Policy"] = rateLimit ?? "local",
        };
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
