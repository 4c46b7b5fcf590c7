using System.Globalization;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.RateLimiting;

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

        if (options.LimitBy == RateLimitBy.Header && !HeaderName.IsValid(options.HeaderName))
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
