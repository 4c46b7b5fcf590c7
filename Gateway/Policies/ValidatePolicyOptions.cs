using System.Globalization;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Routes;
using StackExchange.Redis;

namespace MlPlatform.Gateway.Policies;

/// <summary>Consumers, keys and key names; every problem names its configuration key.</summary>
internal sealed class ValidateKeyAuthOptions : IValidateOptions<KeyAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyAuthOptions options)
    {
        var problems = new List<string>();
        var section = KeyAuthOptions.SectionName;
        for (var i = 0; i < options.KeyNames.Count; i++)
        {
            if (!IsToken(options.KeyNames[i]))
            {
                problems.Add($"{section}:KeyNames:{i} is '{options.KeyNames[i]}'; a key name must be a header name (letters, digits, '-', '_').");
            }
        }

        if (!options.KeyInHeader && !options.KeyInQuery)
        {
            problems.Add($"{section}:KeyInHeader and {section}:KeyInQuery are both false; no key could ever be found.");
        }

        RouteGroup.CheckNames(problems, $"{section}:RouteGroups", options.RouteGroups.Keys);

        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (id, consumer) in options.Consumers)
        {
            var key = $"{section}:Consumers:{id}";
            if (string.IsNullOrWhiteSpace(consumer.Username))
            {
                problems.Add($"{key}:Username is missing; every consumer needs a name for upstream services (X-Consumer-Username).");
            }

            if (consumer.KeyHashes.Count == 0)
            {
                problems.Add($"{key}:KeyHashes is empty; give the consumer the SHA-256 (hex) of at least one key: printf %s 'the-key' | sha256sum.");
            }

            for (var i = 0; i < consumer.KeyHashes.Count; i++)
            {
                var hash = consumer.KeyHashes[i];
                if (!IsSha256Hex(hash))
                {
                    problems.Add($"{key}:KeyHashes:{i} is not 64 hex digits; store the SHA-256 of the key, never the key: printf %s 'the-key' | sha256sum.");
                }
                else if (!seen.TryAdd(hash, id))
                {
                    problems.Add($"{key}:KeyHashes:{i} is also a key of consumer '{seen[hash]}'; a key must identify one consumer.");
                }
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsSha256Hex(string value)
    {
        if (value.Length != 64)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsToken(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Windows (global and per route group), limit_by and, for the redis policy, its connection string.</summary>
internal sealed class ValidateRateLimitingOptions(IConfiguration configuration) : IValidateOptions<RateLimitingOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitingOptions options)
    {
        var problems = new List<string>();
        var section = RateLimitingOptions.SectionName;
        if (RateLimitWindows.From(options).Length == 0)
        {
            problems.Add($"{section} sets no window; set at least one of {section}:Second, :Minute, :Hour, :Day, :Month, :Year (e.g. Gateway__RateLimiting__Second=5).");
        }

        if (options.LimitBy == RateLimitBy.Header && !ValidateKeyAuthOptions.IsToken(options.HeaderName))
        {
            problems.Add($"{section}:HeaderName is '{options.HeaderName}'; {section}:LimitBy is 'header', so it must name a header.");
        }

        RouteGroup.CheckNames(problems, $"{section}:RouteGroups", options.RouteGroups.Keys);
        CheckRouteGroups(problems, $"{section}:RouteGroups", options);

        if (options.Policy == RateLimitPolicy.Redis)
        {
            var key = RateLimitingOptions.ConnectionStringKey;
            if (string.IsNullOrWhiteSpace(options.RedisConnectionString))
            {
                problems.Add($"{key} is missing: {section}:Policy is 'redis'. Set it to a Redis address, e.g. ConnectionStrings__redis=127.0.0.1:6379, or set {section}:Policy to 'local'.");
            }
            else if (RedisConnection.TryParse(options.RedisConnectionString, out var error) is null)
            {
                problems.Add($"{key} is malformed ({error}); it takes StackExchange.Redis' form, e.g. 127.0.0.1:6379 or redis.example:6380,password=...,ssl=true.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private void CheckRouteGroups(List<string> problems, string section, RateLimitingOptions options)
    {
        foreach (var (group, settings) in options.RouteGroups)
        {
            foreach (var window in RateLimitWindows.From(settings))
            {
                if (window.Limit < 1)
                {
                    problems.Add($"{section}:{group}:{window.Name} is {window.LimitText}; a window's limit must be at least 1 (leave it unset for no limit).");
                }
            }
        }

        // The binder skips keys it does not know, drops a group whose value it cannot convert (leaving the group
        // limited by the global windows) and, given a group both a value and keys, keeps the value alone: each would
        // leave a typed limit silently unenforced, so the configuration itself is read here.
        foreach (var group in configuration.GetSection(section).GetChildren())
        {
            var keys = group.GetChildren().ToList();
            if (keys.Count > 0 && !string.IsNullOrEmpty(group.Value))
            {
                problems.Add($"{group.Path} is '{group.Value}' and also has keys ({string.Join(", ", keys.Select(k => k.Key))}); use {group.Path}:Enabled instead of the value.");
            }
            else if (keys.Count == 0 && !bool.TryParse(group.Value, out _))
            {
                problems.Add($"{group.Path} is '{group.Value}'; it must be true or false, or a section of {string.Join(", ", RouteGroupRateLimitOptions.Keys)}.");
            }

            foreach (var key in keys)
            {
                if (!RouteGroupRateLimitOptions.Keys.Contains(key.Key, StringComparer.OrdinalIgnoreCase))
                {
                    problems.Add($"{key.Path}: '{key.Key}' is not a route group's rate-limit setting; use one of {string.Join(", ", RouteGroupRateLimitOptions.Keys)}.");
                }
                else if (string.Equals(key.Key, "Enabled", StringComparison.OrdinalIgnoreCase))
                {
                    if (!bool.TryParse(key.Value, out _))
                    {
                        problems.Add($"{key.Path} is '{key.Value}'; it must be true or false.");
                    }
                }
                else if (!long.TryParse(key.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"{key.Path} is '{key.Value}'; a window's limit must be a whole number of requests, at least 1.");
                }
            }
        }
    }
}

/// <summary>Header names of each route group's transformation.</summary>
internal sealed class ValidateRouteGroupPolicyOptions : IValidateOptions<RouteGroupPolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, RouteGroupPolicyOptions options)
    {
        var problems = new List<string>();
        foreach (var (group, settings) in options.Groups)
        {
            // Every key under the group makes an entry here: only one with a transformation is this validator's to name.
            if (settings.Request is { Remove.Count: 0, Rename.Count: 0, Add.Count: 0 })
            {
                continue;
            }

            var key = $"{RouteGroupPolicyOptions.SectionName}:{group}";
            RouteGroup.CheckName(problems, $"{key}:Request", group);

            for (var i = 0; i < settings.Request.Remove.Count; i++)
            {
                CheckName(problems, $"{key}:Request:Remove:{i}", settings.Request.Remove[i]);
            }

            foreach (var (from, to) in settings.Request.Rename)
            {
                CheckName(problems, $"{key}:Request:Rename:{from}", to);
                CheckName(problems, $"{key}:Request:Rename:{from} (the name)", from);
            }

            foreach (var (header, _) in settings.Request.Add)
            {
                CheckName(problems, $"{key}:Request:Add:{header} (the name)", header);
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void CheckName(List<string> problems, string key, string? header)
    {
        if (!ValidateKeyAuthOptions.IsToken(header))
        {
            problems.Add($"{key} is '{header}'; it must be a header name (letters, digits, '-', '_').");
        }
        else if (UpstreamHeaders.IsProtected(header!))
        {
            problems.Add($"{key} is '{header}'; the gateway sets that header itself and a transformation may not touch it.");
        }
    }
}
