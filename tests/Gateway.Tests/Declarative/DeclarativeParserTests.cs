using System.Text.Json;
using MlPlatform.Gateway.Declarative;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// Kong's own declarative files (the one <c>kong config init</c> writes, the plugin documentation's examples) and the
/// platform's seed configuration parse with no problem; each broken file gives exactly the problems in its
/// <c>.expected</c> file beside it, all in one parse.
/// </summary>
public sealed class DeclarativeParserTests
{
    private const string DevelopmentKey = "dev-key-change-me";

    private static readonly string FilesDirectory = RepositoryPaths.InRoot("tests", "Gateway.Tests", "Declarative", "Files");

    public static TheoryData<string> ValidFiles => [.. ConfigFiles().Where(name => !name.StartsWith("broken-", StringComparison.Ordinal))];

    public static TheoryData<string> BrokenFiles => [.. ConfigFiles().Where(name => name.StartsWith("broken-", StringComparison.Ordinal))];

    [Fact]
    public void TheFiles_AreAllThere()
    {
        // A theory over no files would pass with nothing checked.
        var files = ConfigFiles().ToArray();
        var broken = files.Where(name => name.StartsWith("broken-", StringComparison.Ordinal)).ToArray();
        Assert.True(files.Length - broken.Length >= 17, $"{files.Length - broken.Length} valid files");
        Assert.True(broken.Length >= 7, $"{broken.Length} broken files");
        Assert.All(broken, file => Assert.True(File.Exists(ExpectedFile(file)), $"{file} has no .expected file"));
    }

    [Theory]
    [MemberData(nameof(ValidFiles))]
    public void DocumentedFile_ParsesWithNoProblem(string file)
    {
        var result = Parse(file);

        Assert.Empty(result.Problems.Select(problem => problem.ToString()));
        Assert.NotNull(result.Config);
    }

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void BrokenFile_GivesEveryProblemAtOnce(string file)
    {
        var expected = File.ReadAllLines(ExpectedFile(file)).Where(line => line.Length > 0).Order(StringComparer.Ordinal).ToArray();

        var result = Parse(file);

        var actual = result.Problems.Select(problem => problem.ToString()).Order(StringComparer.Ordinal).ToArray();
        Assert.True(expected.SequenceEqual(actual),
            $"missing:\n{string.Join('\n', expected.Except(actual))}\nunexpected:\n{string.Join('\n', actual.Except(expected))}");
        Assert.Equal(expected.Length, actual.Length);
        Assert.Null(result.Config);
    }

    [Fact]
    public void Problems_NeverQuoteAKey()
    {
        var result = Parse("broken-entities.yml");

        Assert.Contains(result.Problems, problem => problem.Path.Contains("keyauth_credentials[0].key", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Problems, problem => problem.ToString().Contains("shared-secret-key", StringComparison.Ordinal));
    }

    [Fact]
    public void KongConfigInit_Template_DeclaresNoEntity()
    {
        var config = Valid("kong-config-init.yml");

        Assert.Empty(config.Services);
        Assert.Empty(config.Routes);
        Assert.Empty(config.Consumers);
        Assert.Empty(config.Plugins);
    }

    [Fact]
    public void KongConfigInit_Examples_AreReadWithTheirRelationships()
    {
        var config = Valid("kong-config-init-uncommented.yml");

        var example = Assert.Single(config.Services, service => service.Key == "example-service");
        Assert.Equal(("http", "example.com", 80, (string?)null), (example.Protocol, example.Host, example.Port, example.Path));
        Assert.Equal(["example"], example.Tags);
        var another = Assert.Single(config.Services, service => service.Key == "another-service");
        Assert.Equal(("https", "example.org", 443), (another.Protocol, another.Host, another.Port));

        var exampleRoute = Assert.Single(config.Routes, route => route.Key == "example-route");
        Assert.Equal("example-service", exampleRoute.ServiceKey);
        Assert.Equal(["http", "https"], exampleRoute.Protocols);
        Assert.True(exampleRoute.StripPath);
        var anotherRoute = Assert.Single(config.Routes, route => route.Key == "another-route");
        Assert.Equal("example-service", anotherRoute.ServiceKey);
        Assert.Equal(["hello.com"], anotherRoute.Hosts);

        var user = Assert.Single(config.Consumers);
        Assert.Equal(KeyHashes.OfClearKey("my-key"), Assert.Single(user.KeyAuthCredentials).KeyHash);

        var keyAuth = Assert.Single(config.Plugins, plugin => plugin.Name == "key-auth");
        Assert.Equal(("example-service", (string?)null, (string?)null), (keyAuth.ServiceKey, keyAuth.RouteKey, keyAuth.ConsumerKey));
        var limits = config.Plugins.Where(plugin => plugin.Name == "rate-limiting").ToArray();
        var userLimit = Assert.Single(limits, plugin => plugin.ServiceKey is null);
        Assert.Equal("example-user", userLimit.ConsumerKey);
        Assert.Equal((5.0, 10000.0, "local"), Limits(userLimit));
        var serviceUserLimit = Assert.Single(limits, plugin => plugin.ServiceKey is not null);
        Assert.Equal(("another-service", "example-user"), (serviceUserLimit.ServiceKey, serviceUserLimit.ConsumerKey));
        Assert.Equal(2.0, ((RateLimitingConfig)serviceUserLimit.Config).Hour);
        Assert.Equal(["extra_limits", "my_tag"], serviceUserLimit.Tags);
    }

    [Fact]
    public void Seed_IsThePlatformsPolicy()
    {
        var config = Valid("seed-inference.yml");

        var service = Assert.Single(config.Services);
        Assert.Equal(("inference", "http", "inference", 80, (string?)null), (service.Key, service.Protocol, service.Host, service.Port, service.Path));
        Assert.Equal((5, 60000, 60000, 60000), (service.Retries, service.ConnectTimeoutMs, service.ReadTimeoutMs, service.WriteTimeoutMs));

        var route = Assert.Single(config.Routes);
        Assert.Equal("inference", route.ServiceKey);
        var path = Assert.Single(route.Paths);
        Assert.Equal(("/v2", false), (path.Value, path.IsRegex));
        Assert.False(route.StripPath);

        var limits = Assert.IsType<RateLimitingConfig>(Assert.Single(config.Plugins, plugin => plugin.Name == "rate-limiting").Config);
        Assert.Equal(
            new RateLimitingConfig(5, null, 10000, null, null, null, "consumer", null, null, "local", true,
                new RedisConfig(null, 6379, 2000, null, null, 0, false, false, null), false, 429, "API rate limit exceeded", -1),
            limits);

        var keyAuth = Assert.Single(config.Plugins, plugin => plugin.Name == "key-auth");
        Assert.Equal(("inference", (string?)null, (string?)null), (keyAuth.ServiceKey, keyAuth.RouteKey, keyAuth.ConsumerKey));
        var keyAuthConfig = Assert.IsType<KeyAuthConfig>(keyAuth.Config);
        Assert.Equal(["apikey"], keyAuthConfig.KeyNames);
        Assert.Equal((true, true, true, false, true), (keyAuthConfig.HideCredentials, keyAuthConfig.KeyInHeader, keyAuthConfig.KeyInQuery, keyAuthConfig.KeyInBody, keyAuthConfig.RunOnPreflight));

        var consumer = Assert.Single(config.Consumers);
        Assert.Equal("development-example", consumer.Username);
        Assert.Equal(AppSettingsDevelopmentKeyHash(), Assert.Single(consumer.KeyAuthCredentials).KeyHash);
    }

    [Fact]
    public void Seed_AsJson_WithAHashedKey_IsTheSameConfiguration()
    {
        var yaml = Valid("seed-inference.yml");
        var json = Valid("seed-inference.json");

        Assert.Equal(
            yaml.Services.Select(service => (service.Key, service.Protocol, service.Host, service.Port, service.Path)),
            json.Services.Select(service => (service.Key, service.Protocol, service.Host, service.Port, service.Path)));
        Assert.Equal(
            yaml.Routes.Select(route => (route.Key, route.ServiceKey, route.StripPath, string.Join(',', route.Paths.Select(path => path.Value)))),
            json.Routes.Select(route => (route.Key, route.ServiceKey, route.StripPath, string.Join(',', route.Paths.Select(path => path.Value)))));
        Assert.Equal(yaml.Plugins.Select(plugin => (plugin.Name, plugin.ServiceKey)), json.Plugins.Select(plugin => (plugin.Name, plugin.ServiceKey)));
        Assert.Equal(yaml.Plugins[0].Config, json.Plugins[0].Config);
        Assert.Equal(
            Assert.Single(Assert.Single(yaml.Consumers).KeyAuthCredentials).KeyHash,
            Assert.Single(Assert.Single(json.Consumers).KeyAuthCredentials).KeyHash);
    }

    [Fact]
    public void ClearKey_IsHashedAsKeyAuthHashesIt()
    {
        // appsettings.json holds the development key's hash as key-auth compares it; a clear key must come out the same.
        Assert.Equal(AppSettingsDevelopmentKeyHash(), KeyHashes.OfClearKey(DevelopmentKey));

        foreach (var key in new[] { DevelopmentKey, KeyHashes.Prefix + AppSettingsDevelopmentKeyHash().ToUpperInvariant() })
        {
            var config = Assert.IsType<DeclarativeConfig>(DeclarativeParser.Parse($"""
                _format_version: "3.0"
                consumers:
                - username: a
                  keyauth_credentials:
                  - key: {key}
                """).Config);

            Assert.Equal(AppSettingsDevelopmentKeyHash(), config.Consumers[0].KeyAuthCredentials[0].KeyHash);
        }
    }

    [Fact]
    public void SameKey_InClearAndHashed_IsADuplicate()
    {
        var result = DeclarativeParser.Parse($"""
            _format_version: "3.0"
            consumers:
            - username: a
              keyauth_credentials:
              - key: {DevelopmentKey}
            - username: b
              keyauth_credentials:
              - key: {KeyHashes.Prefix}{AppSettingsDevelopmentKeyHash()}
            """);

        var problem = Assert.Single(result.Problems);
        Assert.Equal("consumers[1].keyauth_credentials[0].key", problem.Path);
        Assert.DoesNotContain(DevelopmentKey, problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RegexPath_IsCompiled_AndAnchoredAtThePathsStart()
    {
        var route = Assert.Single(Valid("docs-request-transformer-rewrite-path.yml").Routes);

        var path = Assert.Single(route.Paths);
        Assert.True(path.IsRegex);
        Assert.Matches(path.Pattern!, "/users/123");
        Assert.DoesNotMatch(path.Pattern!, "/api/users/123");
        var transformer = Assert.IsType<RequestTransformerConfig>(Assert.Single(Valid("docs-request-transformer-rewrite-path.yml").Plugins).Config);
        Assert.Equal("/anything/$(uri_captures[1])", transformer.ReplaceUri);
    }

    [Fact]
    public void EveryField_IsRead()
    {
        var config = Valid("every-field.yml");

        var service = Assert.Single(config.Services);
        Assert.Equal(("inference", "http", "inference", 8080, "/api", 2, 1000, 2000, 3000),
            (service.Key, service.Protocol, service.Host, service.Port, service.Path, service.Retries, service.ConnectTimeoutMs, service.WriteTimeoutMs, service.ReadTimeoutMs));

        var rest = Assert.Single(config.Routes, route => route.Key == "rest");
        Assert.Equal(["GET", "POST"], rest.Methods);
        Assert.Equal(["*.example.com", "api.example.org:8443"], rest.Hosts);
        Assert.Equal([false, true], rest.Paths.Select(path => path.IsRegex));
        Assert.Equal(["a", "b"], rest.Headers["X-Tenant"]);
        Assert.Equal((false, true, 10, "v1", 308, false, false),
            (rest.StripPath, rest.PreserveHost, rest.RegexPriority, rest.PathHandling, rest.HttpsRedirectStatusCode, rest.RequestBuffering, rest.ResponseBuffering));
        var grpc = Assert.Single(config.Routes, route => route.Key == "grpc");
        Assert.Equal(["grpc"], grpc.Protocols);
        Assert.False(grpc.StripPath);

        var serviceLimits = Assert.Single(config.Plugins, plugin => plugin.InstanceName == "inference-limits");
        Assert.Equal(["grpc", "http"], serviceLimits.Protocols);
        Assert.Equal(
            new RateLimitingConfig(5, 100, 10000, 100000, 1000000, 10000000, "header", "x-tenant", "/v2", "redis", false,
                new RedisConfig("redis.internal", 6380, 500, "gateway", "secret", 2, true, true, "redis.internal"), true, 503, "slow down", 0.5),
            serviceLimits.Config);
        Assert.DoesNotContain("secret", ((RateLimitingConfig)serviceLimits.Config).Redis.ToString(), StringComparison.Ordinal);

        var transformer = Assert.IsType<RequestTransformerConfig>(Assert.Single(config.Plugins, plugin => plugin.Name == "request-transformer").Config);
        Assert.Equal("POST", transformer.HttpMethod);
        Assert.Equal(["x-debug"], transformer.Remove.Headers);
        Assert.Equal([KeyValuePair.Create("x-old", "x-new")], transformer.Rename.Headers);
        Assert.Equal([KeyValuePair.Create("mode", "fast")], transformer.Replace.Querystring);
        Assert.Equal("/v2/models", transformer.ReplaceUri);
        Assert.Equal([KeyValuePair.Create("added", "1")], transformer.Add.Body);
        Assert.Equal([KeyValuePair.Create("x-list", "2")], transformer.Append.Headers);

        var sizeLimit = Assert.Single(config.Plugins, plugin => plugin.Name == "request-size-limiting");
        Assert.Equal("rest", sizeLimit.RouteKey);
        Assert.Equal(8L * 1048576, Assert.IsType<RequestSizeLimitingConfig>(sizeLimit.Config).AllowedBytes);

        var keyAuth = Assert.IsType<KeyAuthConfig>(Assert.Single(config.Plugins, plugin => plugin.Name == "key-auth").Config);
        Assert.Equal(new KeyAuthConfig(keyAuth.KeyNames, true, "bob-2", true, false, true, false, "mlplatform"), keyAuth);
        Assert.Equal(["apikey", "x-api-key"], keyAuth.KeyNames);

        var cors = Assert.IsType<CorsConfig>(Assert.Single(config.Plugins, plugin => plugin.Name == "cors").Config);
        Assert.Equal(["*", @"https://.*\.example\.com"], cors.Origins);
        Assert.Equal((600.0, true, true, true, false), (cors.MaxAge, cors.Credentials, cors.PrivateNetwork, cors.PreflightContinue, cors.AllowOriginAbsent));

        var all = Assert.Single(config.Plugins, plugin => plugin is { ConsumerKey: not null, RouteKey: not null, ServiceKey: not null });
        Assert.Equal(("alice", "rest", "inference"), (all.ConsumerKey, all.RouteKey, all.ServiceKey));

        var bob = Assert.Single(config.Consumers, consumer => consumer.Key == "bob-2");
        Assert.Equal("2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", Assert.Single(bob.KeyAuthCredentials).KeyHash);
        var alice = Assert.Single(config.Consumers, consumer => consumer.Key == "alice");
        Assert.Equal("alice-1", alice.CustomId);
        Assert.Equal(["team-a"], alice.Tags);
        Assert.Equal(["primary"], Assert.Single(alice.KeyAuthCredentials).Tags);
    }

    private static (double?, double?, string) Limits(PluginEntity plugin)
    {
        var config = Assert.IsType<RateLimitingConfig>(plugin.Config);
        return (config.Second, config.Hour, config.Policy);
    }

    private static DeclarativeConfig Valid(string file)
    {
        var result = Parse(file);
        Assert.Empty(result.Problems.Select(problem => problem.ToString()));
        return Assert.IsType<DeclarativeConfig>(result.Config);
    }

    private static DeclarativeParseResult Parse(string file) => DeclarativeParser.ParseFile(Path.Combine(FilesDirectory, file));

    private static string ExpectedFile(string file) => Path.Combine(FilesDirectory, Path.ChangeExtension(file, ".expected"));

    private static IEnumerable<string> ConfigFiles() => Directory.EnumerateFiles(FilesDirectory)
        .Where(path => path.EndsWith(".yml", StringComparison.Ordinal) || path.EndsWith(".json", StringComparison.Ordinal))
        .Select(path => Path.GetFileName(path))
        .Order(StringComparer.Ordinal);

    private static string AppSettingsDevelopmentKeyHash()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(RepositoryPaths.InRoot("Gateway", "appsettings.json")));
        return settings.RootElement.GetProperty("Gateway").GetProperty("KeyAuth").GetProperty("Consumers")
            .GetProperty("development-example").GetProperty("KeyHashes")[0].GetString()!;
    }
}
