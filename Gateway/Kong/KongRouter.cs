using System.Text.RegularExpressions;
using MlPlatform.Gateway.Declarative;

namespace MlPlatform.Gateway.Kong;

/// <summary>What the router found for a request: the route, and how much of the path its path matched (for strip_path).</summary>
internal readonly record struct KongMatch(KongRoute Route, int MatchedLength);

/// <summary>
/// Kong's router for the traditional_compatible flavour, Kong 3.x's default: a route matches when every field it sets
/// matches (protocols, methods, hosts, headers, paths); among the routes that match, the one Kong ranks first
/// (get_priority in kong/router/transform.lua): more fields set, plain hosts over wildcards, more headers, regex paths
/// over prefixes, a higher regex_priority, a longer prefix, then the order of the file.
/// </summary>
internal sealed class KongRouter
{
    private readonly Entry[] _entries;

    public KongRouter(IReadOnlyList<KongRoute> routes)
    {
        var entries = new List<Entry>();
        foreach (var route in routes)
        {
            var entity = route.Entity;
            if (entity.Paths.Count == 0)
            {
                entries.Add(new Entry(route, null, Priority(entity, null)));
                continue;
            }

            // Kong splits a route by the kind and length of its paths, each part ranked on its own.
            foreach (var path in entity.Paths)
            {
                entries.Add(new Entry(route, path, Priority(entity, path)) { LiteralPrefix = path.IsRegex ? LiteralPrefix(path.Value) : path.Value });
            }
        }

        // Stable: equal priorities keep the order of the file.
        _entries = [.. entries.Select((entry, order) => (entry, order)).OrderByDescending(e => e.entry.Priority).ThenBy(e => e.order).Select(e => e.entry)];
    }

    /// <summary>The route for a request, by the first entry in priority order that it matches; null when none does.</summary>
    public KongMatch? Match(HttpRequest request, bool grpc)
    {
        var path = request.Path.Value ?? "/";
        foreach (var entry in _entries)
        {
            var route = entry.Route;
            // The path's literal start first: the cheapest test, and the one most entries fail.
            if (entry.LiteralPrefix is { } prefix && !path.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (!(grpc ? route.ServesGrpc : route.ServesHttp)
                || !MethodMatches(route.Entity.Methods, request.Method)
                || !HostMatches(route.Entity.Hosts, request.Host)
                || !HeadersMatch(route.Entity.Headers, request.Headers))
            {
                continue;
            }

            if (entry.Path is null)
            {
                return new KongMatch(route, 0);
            }

            if (entry.Path.Pattern is { } pattern)
            {
                if (MatchFromStart(pattern, path) is { } length)
                {
                    return new KongMatch(route, length);
                }
            }
            else if (path.StartsWith(entry.Path.Value, StringComparison.Ordinal))
            {
                return new KongMatch(route, entry.Path.Value.Length);
            }
        }

        return null;
    }

    // A path that keeps a pattern busy past its timeout does not match it: a slow pattern must never become a 500.
    private static int? MatchFromStart(Regex pattern, string path)
    {
        try
        {
            var match = pattern.Match(path);
            return match.Success && match.Index == 0 ? match.Length : null;
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }

    private static bool MethodMatches(IReadOnlyList<string> methods, string method)
    {
        if (methods.Count == 0)
        {
            return true;
        }

        foreach (var allowed in methods)
        {
            if (string.Equals(allowed, method, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Kong's host rules: case-insensitive, a leading or trailing <c>*</c> as a wildcard, a port only when the route's host names one.</summary>
    private static bool HostMatches(IReadOnlyList<string> hosts, HostString requested)
    {
        if (hosts.Count == 0)
        {
            return true;
        }

        var host = requested.Host ?? "";
        var withPort = requested.Value ?? "";
        foreach (var pattern in hosts)
        {
            var candidate = pattern.Contains(':', StringComparison.Ordinal) && !pattern.StartsWith('[') ? withPort : host;
            if (pattern.StartsWith("*.", StringComparison.Ordinal)
                ? candidate.EndsWith(pattern.AsSpan(1), StringComparison.OrdinalIgnoreCase) && candidate.Length > pattern.Length - 1
                : pattern.EndsWith(".*", StringComparison.Ordinal)
                    ? candidate.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.OrdinalIgnoreCase) && candidate.Length > pattern.Length - 1
                    : string.Equals(candidate, pattern, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every header the route names must have one of its values (case-insensitive; <c>~*</c> starts a regex).</summary>
    private static bool HeadersMatch(IReadOnlyDictionary<string, IReadOnlyList<string>> required, IHeaderDictionary headers)
    {
        foreach (var (name, values) in required)
        {
            var present = headers[name];
            var found = false;
            foreach (var value in present)
            {
                foreach (var allowed in values)
                {
                    if (allowed.StartsWith("~*", StringComparison.Ordinal)
                        ? value is not null && HeaderValueMatches(value, allowed[2..])
                        : string.Equals(value, allowed, StringComparison.OrdinalIgnoreCase))
                    {
                        found = true;
                        break;
                    }
                }

                if (found)
                {
                    break;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    private static bool HeaderValueMatches(string value, string pattern)
    {
        try
        {
            // The parser compiled every pattern once, so this comes from Regex's cache.
            return Regex.IsMatch(value, pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
        }
        catch (Exception exception) when (exception is RegexMatchTimeoutException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Kong's 64-bit route priority, in the same bit layout, so routes compare as in Kong.</summary>
    private static ulong Priority(RouteEntity route, RoutePath? path)
    {
        ulong weight = 0;
        weight += route.Methods.Count > 0 ? 1UL : 0;
        weight += route.Hosts.Count > 0 ? 1UL : 0;
        weight += route.Headers.Count > 0 ? 1UL : 0;
        weight += path is not null ? 1UL : 0;
        var plainHosts = route.Hosts.Count > 0 && route.Hosts.All(host => !host.Contains('*', StringComparison.Ordinal));
        var headers = (ulong)Math.Min(route.Headers.Count, 255);
        var regex = path?.IsRegex == true;
        var regexPriority = regex ? (ulong)Math.Clamp(route.RegexPriority, 0, 0xFFFFFFFF >> 1) : 0;
        var length = regex || path is null ? 0UL : (ulong)path.Value.Length & 0x7FFFF;
        return (weight << 61) | (plainHosts ? 1UL << 60 : 0) | (headers << 52) | (regex ? 1UL << 51 : 0) | ((regexPriority & 0xFFFFFFFF) << 19) | length;
    }

    /// <summary>
    /// The characters a regex path's every match starts with (<c>/models/</c> of <c>~/models/[a-z]+$</c>), up to its first
    /// metacharacter, less one when a quantifier follows; empty when it starts with one.
    /// </summary>
    internal static string LiteralPrefix(string regexPath)
    {
        var pattern = regexPath.StartsWith('~') ? regexPath[1..] : regexPath;
        // An alternative may start anywhere: no one start is common to every match.
        if (pattern.Contains('|', StringComparison.Ordinal))
        {
            return "";
        }

        var length = 0;
        while (length < pattern.Length && !IsMetacharacter(pattern[length]))
        {
            length++;
        }

        if (length < pattern.Length && pattern[length] is '*' or '+' or '?' or '{')
        {
            length--;
        }

        return pattern[..Math.Max(0, length)];
    }

    // A character that does not stand for itself in a regex (without RegexOptions.IgnorePatternWhitespace, a space and # do).
    private static bool IsMetacharacter(char c) => c is '\\' or '.' or '[' or ']' or '(' or ')' or '{' or '}' or '*' or '+' or '?' or '|' or '^' or '$';

    private sealed record Entry(KongRoute Route, RoutePath? Path, ulong Priority)
    {
        /// <summary>What a path must start with for this entry to match it; null for a route without paths.</summary>
        public string? LiteralPrefix { get; init; }
    }
}
