using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// Kong's value checks (kong/db/schema/typedefs.lua and kong/tools/http.lua), each answering null when the value is
/// fine and otherwise Kong's message for it.
/// </summary>
internal static partial class KongSyntax
{
    public static readonly string[] HttpProtocols = ["grpc", "grpcs", "http", "https"];

    /// <summary>Kong's stream protocols: valid in Kong, but this gateway forwards HTTP and gRPC only.</summary>
    public static readonly string[] StreamProtocols = ["tcp", "tls", "tls_passthrough", "udp"];

    public static string? HeaderName(string name) =>
        name.Length == 0 ? "no header name provided"
        : HeaderNameRegex().IsMatch(name) ? null
        : $"bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'";

    public static string? Utf8Name(string name) =>
        Utf8NameRegex().IsMatch(name) ? null
        : $"invalid value '{name}': the only accepted ascii characters are alphanumerics or ., -, _, and ~";

    public static string? HttpMethod(string method) => HttpMethodRegex().IsMatch(method) ? null : $"invalid value: {method}";

    /// <summary>typedefs.path: a service's path, rate-limiting's <c>path</c>.</summary>
    public static string? Path(string path)
    {
        if (!path.StartsWith('/'))
        {
            return "should start with: /";
        }

        if (path.Contains("//", StringComparison.Ordinal))
        {
            return "invalid value: must not have empty segments";
        }

        return Rfc3986(path) ?? PercentEncoding(path);
    }

    /// <summary>typedefs.router_path: a prefix (<c>/v2</c>), or a regex after <c>~</c>, which must compile.</summary>
    public static string? RouterPath(string path, out Regex? pattern)
    {
        pattern = null;
        if (!path.StartsWith('/') && !path.StartsWith("~/", StringComparison.Ordinal))
        {
            return "invalid value: should start with: / (fixed path) or ~/ (regex path)";
        }

        if (path.Contains("//", StringComparison.Ordinal))
        {
            return "invalid value: must not have empty segments";
        }

        if (PercentEncoding(path) is { } percent)
        {
            return percent;
        }

        if (!path.StartsWith('~'))
        {
            if (Rfc3986(path) is { } characters)
            {
                return characters;
            }

            var normalized = Normalize(path);
            return path == normalized ? null : $"non-normalized path, consider use '{normalized}' instead";
        }

        var expression = path[1..];
        try
        {
            // Compiled alone first, so a message's offsets are those of the path as written.
            _ = new Regex(expression, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
            // Kong's router anchors a regex path at the path's start (PCRE's "a" flag); so does this.
            pattern = new Regex($@"\G(?:{expression})", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
            return null;
        }
        catch (ArgumentException e)
        {
            return $"invalid regex: '{expression}' (.NET returned: {e.Message})";
        }
    }

    /// <summary>typedefs.host: a name or an IP address, without a port.</summary>
    public static string? Host(string host)
    {
        var (name, port) = SplitPort(host);
        if (port is not null)
        {
            return "must not have a port";
        }

        return IsName(name) || IPAddress.TryParse(name.Trim('[', ']'), out _) ? null : $"invalid value: {host}";
    }

    /// <summary>A route's host: a name or address with an optional port, with at most one wildcard at either end.</summary>
    public static string? RouteHost(string host)
    {
        if (host.Count(c => c == '*') > 1)
        {
            return "invalid wildcard: must have at most one wildcard";
        }

        if (host.Contains('*', StringComparison.Ordinal) && !host.StartsWith("*.", StringComparison.Ordinal) && !host.EndsWith(".*", StringComparison.Ordinal))
        {
            return "invalid wildcard: must be placed at leftmost or rightmost label";
        }

        var (name, port) = SplitPort(host.Replace("*", "abc", StringComparison.Ordinal));
        if (port is { } p && (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > 65535))
        {
            return "invalid port number";
        }

        return IsName(name) || IPAddress.TryParse(name.Trim('[', ']'), out _) ? null : $"invalid value: {host}";
    }

    /// <summary>typedefs.sni: a name, neither an IP address nor with a port.</summary>
    public static string? Sni(string name)
    {
        if (Host(name) is { } problem)
        {
            return problem;
        }

        return IPAddress.TryParse(name.Trim('[', ']'), out _) ? "must not be an IP" : null;
    }

    /// <summary>
    /// Kong's normal form of a prefix path (kong.tools.uri.normalize): percent-encoded unreserved characters decoded,
    /// other escapes in upper case, dot segments removed.
    /// </summary>
    public static string Normalize(string path)
    {
        var decoded = new StringBuilder(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length && char.IsAsciiHexDigit(path[i + 1]) && char.IsAsciiHexDigit(path[i + 2]))
            {
                var c = (char)Convert.ToInt32(path.Substring(i + 1, 2), 16);
                if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~')
                {
                    decoded.Append(c);
                }
                else
                {
                    decoded.Append('%').Append(char.ToUpperInvariant(path[i + 1])).Append(char.ToUpperInvariant(path[i + 2]));
                }

                i += 2;
            }
            else
            {
                decoded.Append(path[i]);
            }
        }

        // RFC 3986, 5.2.4: remove dot segments.
        var segments = new List<string>();
        var parts = decoded.ToString().Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            var last = i == parts.Length - 1;
            switch (parts[i])
            {
                case ".":
                    if (last)
                    {
                        segments.Add("");
                    }

                    break;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    if (last)
                    {
                        segments.Add("");
                    }

                    break;
                default:
                    segments.Add(parts[i]);
                    break;
            }
        }

        return "/" + string.Join('/', segments);
    }

    private static string? Rfc3986(string path) =>
        Rfc3986Regex().IsMatch(path) ? null : $"invalid path: '{path}' (characters outside of the reserved list of RFC 3986 found)";

    private static string? PercentEncoding(string path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] != '%')
            {
                continue;
            }

            if (i + 2 < path.Length && char.IsAsciiHexDigit(path[i + 1]) && char.IsAsciiHexDigit(path[i + 2]))
            {
                i += 2;
                continue;
            }

            return $"invalid url-encoded value: '{path.Substring(i, Math.Min(3, path.Length - i))}'";
        }

        return null;
    }

    private static (string Name, string? Port) SplitPort(string host)
    {
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            return close > 0 && close + 1 < host.Length && host[close + 1] == ':' ? (host[..(close + 1)], host[(close + 2)..]) : (host, null);
        }

        var colon = host.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || host.IndexOf(':', colon + 1) >= 0)
        {
            // No colon, or several: an IPv6 address without brackets has no port.
            return (host, null);
        }

        return (host[..colon], host[(colon + 1)..]);
    }

    private static bool IsName(string name) => name.Length is > 0 and <= 253 && HostNameRegex().IsMatch(name);

    [GeneratedRegex("^[a-zA-Z0-9_-]+$")]
    private static partial Regex HeaderNameRegex();

    [GeneratedRegex(@"^[\p{L}\p{N}.\-_~\u0080-\uFFFF]+$")]
    private static partial Regex Utf8NameRegex();

    [GeneratedRegex("^[A-Z]+$")]
    private static partial Regex HttpMethodRegex();

    [GeneratedRegex(@"^/[A-Za-z0-9.\-_~/%:@!$&'()*+,;=]*$")]
    private static partial Regex Rfc3986Regex();

    [GeneratedRegex(@"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$")]
    private static partial Regex HostNameRegex();
}
