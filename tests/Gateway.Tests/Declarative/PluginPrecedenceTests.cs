using System.Globalization;
using System.Text;
using MlPlatform.Gateway.Declarative;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// Kong's plugin precedence: consumer+route+service, consumer+route, consumer+service, route+service, consumer, route,
/// service, global. Every set of scopes a plugin may be configured at, against every request (each of service, route
/// and consumer absent, the plugin's own, or another one).
/// </summary>
public sealed class PluginPrecedenceTests
{
    /// <summary>Kong's documented order, most specific first: whether a scope binds a consumer, a route, a service.</summary>
    private static readonly (bool Consumer, bool Route, bool Service)[] KongOrder =
    [
        (true, true, true),
        (true, true, false),
        (true, false, true),
        (false, true, true),
        (true, false, false),
        (false, true, false),
        (false, false, true),
        (false, false, false),
    ];

    [Fact]
    public void Order_IsKongs()
    {
        Assert.Equal(KongOrder, PluginPrecedence.Order);
    }

    [Fact]
    public void EveryCombinationOfScopes_AgainstEveryRequest_PicksTheMostSpecificThatMatches()
    {
        var checkedCases = 0;
        for (var configured = 0; configured < 1 << KongOrder.Length; configured++)
        {
            var config = Parse(Plugins(configured));
            foreach (var service in new[] { null, "s", "other-s" })
            {
                foreach (var route in new[] { null, "r", "other-r" })
                {
                    foreach (var consumer in new[] { null, "c", "other-c" })
                    {
                        var effective = PluginPrecedence.Effective(config,
                            config.Services.SingleOrDefault(entity => entity.Key == service),
                            config.Routes.SingleOrDefault(entity => entity.Key == route),
                            config.Consumers.SingleOrDefault(entity => entity.Key == consumer));

                        var expected = Expected(configured, service == "s", route == "r", consumer == "c");
                        var actual = effective.TryGetValue("rate-limiting", out var plugin) ? (int?)((RateLimitingConfig)plugin.Config).Second : null;
                        Assert.True(expected == actual,
                            $"scopes {Describe(configured)}, request (service {service}, route {route}, consumer {consumer}): expected the plugin of rank {expected}, got {actual}");
                        checkedCases++;
                    }
                }
            }
        }

        Assert.Equal(256 * 27, checkedCases);
    }

    [Fact]
    public void DisabledPlugin_HidesNoLessSpecificOne()
    {
        var config = Parse("""
            - name: rate-limiting
              route: r
              enabled: false
              config: {second: 1}
            - name: rate-limiting
              service: s
              config: {second: 2}
            """);

        var effective = PluginPrecedence.Effective(config, config.Services[0], config.Routes[0], null);

        Assert.Equal(2.0, ((RateLimitingConfig)effective["rate-limiting"].Config).Second);
    }

    [Fact]
    public void EachPlugin_IsChosenApart()
    {
        var config = Parse("""
            - name: key-auth
            - name: rate-limiting
              consumer: c
              config: {second: 1}
            - name: rate-limiting
              config: {second: 9}
            - name: cors
              route: r
            """);

        var forC = PluginPrecedence.Effective(config, config.Services[0], config.Routes[0], config.Consumers[0]);
        var forOther = PluginPrecedence.Effective(config, config.Services[1], config.Routes[1], config.Consumers[1]);

        Assert.Equal(["cors", "key-auth", "rate-limiting"], forC.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1.0, ((RateLimitingConfig)forC["rate-limiting"].Config).Second);
        Assert.Equal(["key-auth", "rate-limiting"], forOther.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(9.0, ((RateLimitingConfig)forOther["rate-limiting"].Config).Second);
    }

    [Fact]
    public void NestedPlugins_AreBoundToTheirParentOnly()
    {
        var result = DeclarativeParser.Parse("""
            _format_version: "3.0"
            services:
            - name: s
              host: s
              plugins:
              - name: rate-limiting
                config: {second: 7}
              routes:
              - name: r
                paths: [/r]
                plugins:
                - name: rate-limiting
                  config: {second: 6}
            consumers:
            - username: c
              plugins:
              - name: rate-limiting
                config: {second: 5}
            """);
        var config = Assert.IsType<DeclarativeConfig>(result.Config);

        Assert.Equal(
            new (double, string?, string?, string?)[] { (5.0, null, null, "c"), (6.0, null, "r", null), (7.0, "s", null, null) },
            config.Plugins.Select(plugin => (((RateLimitingConfig)plugin.Config).Second!.Value, plugin.ServiceKey, plugin.RouteKey, plugin.ConsumerKey)).Order());
        Assert.Equal(5.0, ((RateLimitingConfig)PluginPrecedence.Effective(config, config.Services[0], config.Routes[0], config.Consumers[0])["rate-limiting"].Config).Second);
        Assert.Equal(6.0, ((RateLimitingConfig)PluginPrecedence.Effective(config, config.Services[0], config.Routes[0], null)["rate-limiting"].Config).Second);
        Assert.Equal(7.0, ((RateLimitingConfig)PluginPrecedence.Effective(config, config.Services[0], null, null)["rate-limiting"].Config).Second);
    }

    /// <summary>The rank (1 = most specific) of the first configured scope whose bound entities are all the request's.</summary>
    private static int? Expected(int configured, bool ownService, bool ownRoute, bool ownConsumer)
    {
        for (var rank = 0; rank < KongOrder.Length; rank++)
        {
            var (consumer, route, service) = KongOrder[rank];
            if ((configured & (1 << rank)) != 0 && (!consumer || ownConsumer) && (!route || ownRoute) && (!service || ownService))
            {
                return rank + 1;
            }
        }

        return null;
    }

    /// <summary>A rate-limiting instance at each configured scope, its <c>second</c> being the scope's rank.</summary>
    private static string Plugins(int configured)
    {
        var plugins = new StringBuilder();
        for (var rank = 0; rank < KongOrder.Length; rank++)
        {
            if ((configured & (1 << rank)) == 0)
            {
                continue;
            }

            var (consumer, route, service) = KongOrder[rank];
            plugins.Append("- name: rate-limiting\n");
            plugins.Append(consumer ? "  consumer: c\n" : "");
            plugins.Append(route ? "  route: r\n" : "");
            plugins.Append(service ? "  service: s\n" : "");
            plugins.Append(CultureInfo.InvariantCulture, $"  config: {{second: {rank + 1}}}\n");
        }

        return plugins.ToString();
    }

    private static string Describe(int configured) =>
        string.Join(", ", Enumerable.Range(0, KongOrder.Length).Where(rank => (configured & (1 << rank)) != 0).Select(rank => KongOrder[rank].ToString()));

    private static DeclarativeConfig Parse(string plugins)
    {
        var text = $"""
            _format_version: "3.0"
            services:
            - name: s
              host: s
            - name: other-s
              host: o
            routes:
            - name: r
              service: s
              paths: [/r]
            - name: other-r
              service: other-s
              paths: [/o]
            consumers:
            - username: c
            - username: other-c
            plugins:
            {plugins}
            """;
        var result = DeclarativeParser.Parse(text);
        Assert.Empty(result.Problems.Select(problem => problem.ToString()));
        return Assert.IsType<DeclarativeConfig>(result.Config);
    }
}
