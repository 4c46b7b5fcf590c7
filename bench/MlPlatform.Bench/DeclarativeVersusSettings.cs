using System.Globalization;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// What routing and plugins from a Kong declarative file cost against the same policy from the gateway's settings:
/// key-auth and a local rate limit that is never reached, 1,001 consumers either way; the file has 50 routes (prefix,
/// regex, host, header and method routes, the one the load takes ranked among them as Kong ranks it) and, in a third
/// variant, a rate-limiting plugin of each consumer's own.
/// </summary>
internal static class DeclarativeVersusSettings
{
    public const string Id = "declarative-vs-settings";

    private const int Consumers = 1000;
    private const int Routes = 50;

    public static async Task RunAsync(BenchSettings settings)
    {
        await using var upstream = await CheapUpstream.StartAsync();
        var directory = Directory.CreateTempSubdirectory("mlplatform-bench-kong-").FullName;
        var gateways = new List<ServiceProcess>();
        try
        {
            var servicePlugins = Path.Combine(directory, "kong.yml");
            var consumerPlugins = Path.Combine(directory, "kong-consumer-plugins.yml");
            await File.WriteAllTextAsync(servicePlugins, KongYml(consumerRateLimits: false));
            await File.WriteAllTextAsync(consumerPlugins, KongYml(consumerRateLimits: true));
            var reference = GatewayPolicy.Settings(upstream.Address, auth: true, rateLimit: "local", extraConsumers: Consumers);
            var variants = new (string Name, Dictionary<string, string?> Settings)[]
            {
                ("settings: key-auth + local rate limit (reference)", reference),
                ($"kong.yml: {Routes} routes, {Consumers + 1} consumers, service key-auth + rate-limiting", Declarative(upstream.Address, servicePlugins)),
                ($"kong.yml: the same, and a rate-limiting plugin on each consumer", Declarative(upstream.Address, consumerPlugins)),
            };
            foreach (var variant in variants)
            {
                gateways.Add(await ServiceProcess.StartGatewayAsync(variant.Settings));
            }

            var names = variants.Select(v => v.Name).ToArray();
            var (results, rates, concurrency) = await GatewayPolicy.MeasureAsync(gateways, names, settings);
            var body = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"`GET /v2/models/tiny/ready` with a key through one gateway (Release build, its own process) to an in-process Kestrel upstream answering 15 bytes; one gateway per variant, all started at once, {concurrency} concurrent clients, {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s. Limits are 1e9 a second and 1e12 an hour, so every request is counted and none refused. Client errors: {results.Sum(r => r.Sum(x => x.Failed))}.")
                .AppendLine();
            GatewayPolicy.AppendTable(body, "configuration", "ratio to settings", names, results, rates);
            body.AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"**kong.yml / settings = {rates[1] / rates[0]:F2}x** (goal at least 0.95x); with a plugin per consumer {rates[2] / rates[0]:F2}x.")
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
            Console.WriteLine($"kong.yml {rates[1] / rates[0]:F2}x, with consumer plugins {rates[2] / rates[0]:F2}x");
            ResultsFile.WriteSection(Id, "Gateway: a Kong declarative file (50 routes, 1,000 consumers) vs the same policy from settings", body.ToString());
        }
        finally
        {
            foreach (var gateway in gateways)
            {
                await gateway.DisposeAsync();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    private static Dictionary<string, string?> Declarative(Uri upstream, string file)
    {
        var settings = GatewayPolicy.Settings(upstream, auth: false, rateLimit: null);
        settings["Gateway__DeclarativeConfig"] = file;
        return settings;
    }

    /// <summary>
    /// 49 routes the load never takes, of every kind Kong ranks (longer prefixes, regexes, hosts, headers, methods), and
    /// <c>/v2</c> in the middle of the file.
    /// </summary>
    private static string KongYml(bool consumerRateLimits)
    {
        var yaml = new StringBuilder()
            .AppendLine("_format_version: \"3.0\"")
            .AppendLine("services:")
            .AppendLine("- name: inference")
            .AppendLine("  url: http://inference")
            .AppendLine("  plugins:")
            .AppendLine("  - name: key-auth")
            .AppendLine("    config: {hide_credentials: true}")
            .AppendLine("  - name: rate-limiting")
            .AppendLine("    config: {second: 1000000000, hour: 1000000000000, policy: local}")
            .AppendLine("  routes:");
        for (var i = 0; i < Routes - 1; i++)
        {
            if (i == Routes / 2)
            {
                yaml.AppendLine("  - name: v2").AppendLine("    paths: [/v2]").AppendLine("    strip_path: false");
            }

            yaml.AppendLine(CultureInfo.InvariantCulture, $"  - name: route-{i}");
            _ = (i % 5) switch
            {
                0 => yaml.AppendLine(CultureInfo.InvariantCulture, $"    paths: [/v2/route-{i}/longer]"),
                1 => yaml.AppendLine(CultureInfo.InvariantCulture, $"    paths: ['~/models/route-{i}/[a-z]+$']"),
                2 => yaml.AppendLine(CultureInfo.InvariantCulture, $"    hosts: [route-{i}.example.com]").AppendLine("    paths: [/v2]"),
                3 => yaml.AppendLine(CultureInfo.InvariantCulture, $"    headers: {{x-route: [route-{i}]}}").AppendLine("    paths: [/v2]"),
                _ => yaml.AppendLine("    methods: [DELETE]").AppendLine(CultureInfo.InvariantCulture, $"    paths: [/v2/route-{i}]"),
            };
        }

        yaml.AppendLine("consumers:")
            .AppendLine("- username: bench")
            .AppendLine("  keyauth_credentials:")
            .AppendLine(CultureInfo.InvariantCulture, $"  - key: {GatewayPolicy.Key}");
        for (var i = 0; i < Consumers; i++)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"- username: consumer-{i}")
                .AppendLine("  keyauth_credentials:")
                .AppendLine(CultureInfo.InvariantCulture, $"  - key: {GatewayPolicy.ConsumerKey(i)}");
            if (consumerRateLimits)
            {
                yaml.AppendLine("  plugins:")
                    .AppendLine("  - name: rate-limiting")
                    .AppendLine("    config: {second: 1000000000, hour: 1000000000000}");
            }
        }

        if (consumerRateLimits)
        {
            // The load's own consumer too, so its requests resolve a consumer's plugin set, not the route's.
            yaml.Replace($"  - key: {GatewayPolicy.Key}\n", $"  - key: {GatewayPolicy.Key}\n  plugins:\n  - name: rate-limiting\n    config: {{second: 1000000000, hour: 1000000000000}}\n");
        }

        return yaml.ToString();
    }
}
