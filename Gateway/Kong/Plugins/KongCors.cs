using System.Buffers;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using MlPlatform.Gateway.Declarative;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// Kong 3.x's cors plugin (kong/plugins/cors/handler.lua), built once per configuration and shared by every request.
/// Call <see cref="HandlePreflight"/> where Kong runs its access phase, and <see cref="OnResponse"/> (or
/// <see cref="OnResponseStarting"/>) for the response, upstream's or a refusal, as Kong runs its header_filter on both.
/// </summary>
/// <remarks>
/// ASP.NET Core's CORS policy cannot give Kong's headers: Kong sends a lone non-regex origin whatever the request's
/// Origin, answers with the request's origin normalized (default port dropped) rather than as sent, sets
/// Access-Control-Allow-Credentials even when no origin matched, echoes the request's own Origin for <c>*</c> with
/// credentials, sets Vary on a preflight but adds to the upstream's on a response, and takes away an upstream's
/// Access-Control-Allow-Origin when no origin matches. So the headers are written here, as handler.lua writes them.
/// </remarks>
public sealed class KongCors
{
    /// <summary>Kong's own list, for a configuration that names no method.</summary>
    private const string DefaultMethods = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT";

    /// <summary>An origin entry is a regex when it has a character outside these (handler.lua's <c>[^A-Za-z0-9.:/-]</c>).</summary>
    private static readonly SearchValues<char> PlainOriginCharacters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:/-");

    /// <summary>An Origin is the client's to write: a pattern that backtracks without end must not hold the request.</summary>
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>Kong's kong.ctx.plugin.skip_response_headers: a preflight answered, or passed upstream, gets no response headers.</summary>
    private static readonly object PreflightSeenKey = new();

    private readonly bool _allowsAnyOrigin;
    private readonly string? _onlyOrigin;
    private readonly bool _listHasWildcard;
    private readonly OriginEntry[] _origins;
    private readonly string? _allowedHeaders;
    private readonly string? _exposedHeaders;
    private readonly string _allowedMethods;
    private readonly string? _maxAge;
    private readonly bool _credentials;
    private readonly bool _privateNetwork;
    private readonly bool _preflightContinue;
    private readonly bool _allowOriginAbsent;

    public KongCors(CorsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var origins = config.Origins;
        _allowsAnyOrigin = origins.Count == 0 || (origins.Count == 1 && origins[0] == "*");

        // A lone entry that does not look like a regex is sent as it is, whatever the request's Origin.
        _onlyOrigin = origins.Count == 1 && !_allowsAnyOrigin && IsPlainOrigin(origins[0]) ? origins[0] : null;

        var entries = new List<OriginEntry>(origins.Count);
        foreach (var origin in origins)
        {
            if (origin == "*")
            {
                // Kong's loop over the list answers * as soon as it meets one, before it compares any entry.
                _listHasWildcard = true;
            }
            else
            {
                entries.Add(OriginEntry.From(origin));
            }
        }

        _origins = [.. entries];
        _allowedHeaders = config.Headers.Count > 0 ? string.Join(',', config.Headers) : null;
        _exposedHeaders = config.ExposedHeaders.Count > 0 ? string.Join(',', config.ExposedHeaders) : null;

        // Kong would send an empty Access-Control-Allow-Methods for an explicit empty list, which allows no method at
        // all; an empty list here means Kong's default, as an absent one does.
        _allowedMethods = config.Methods.Count > 0 ? string.Join(',', config.Methods) : DefaultMethods;
        _maxAge = config.MaxAge is { } maxAge ? LuaNumber(maxAge) : null;
        _credentials = config.Credentials;
        _privateNetwork = config.PrivateNetwork;
        _preflightContinue = config.PreflightContinue;
        _allowOriginAbsent = config.AllowOriginAbsent;
    }

    /// <summary>
    /// True when the request was a preflight (OPTIONS with an Origin and Access-Control-Request-Method) and the answer is
    /// written: 200, no body, the CORS headers; the caller stops there. False for anything else, and for a preflight
    /// when preflight_continue sends it upstream, which then gets no CORS header from this plugin.
    /// </summary>
    public bool HandlePreflight(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var origin = First(request.Headers, HeaderNames.Origin);
        if (!string.Equals(request.Method, HttpMethods.Options, StringComparison.Ordinal) || string.IsNullOrEmpty(origin)
            || !request.Headers.TryGetValue(HeaderNames.AccessControlRequestMethod, out var requestMethod) || requestMethod.Count == 0)
        {
            return false;
        }

        context.Items[PreflightSeenKey] = true;
        if (_preflightContinue)
        {
            return false;
        }

        var response = context.Response;
        var headers = response.Headers;
        var allowsAll = ConfigureOrigin(headers, origin, onResponse: false);
        ConfigureCredentials(headers, origin, allowsAll, onResponse: false);

        if (_allowedHeaders is not null)
        {
            headers[HeaderNames.AccessControlAllowHeaders] = _allowedHeaders;
        }
        else if (First(request.Headers, HeaderNames.AccessControlRequestHeaders) is { } requested)
        {
            headers[HeaderNames.AccessControlAllowHeaders] = requested;
        }
        else
        {
            headers.Remove(HeaderNames.AccessControlAllowHeaders);
        }

        headers[HeaderNames.AccessControlAllowMethods] = _allowedMethods;
        if (_maxAge is not null)
        {
            headers[HeaderNames.AccessControlMaxAge] = _maxAge;
        }

        if (_privateNetwork && First(request.Headers, "Access-Control-Request-Private-Network") == "true")
        {
            headers["Access-Control-Allow-Private-Network"] = "true";
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = 0;
        return true;
    }

    /// <summary>
    /// Kong's header_filter: the CORS headers of an actual request's response, over what is in
    /// <see cref="HttpResponse.Headers"/> now. Call it once the upstream's headers are there and before the response
    /// starts; <see cref="OnResponseStarting"/> does both.
    /// </summary>
    public void OnResponse(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.ContainsKey(PreflightSeenKey))
        {
            return;
        }

        var origin = First(context.Request.Headers, HeaderNames.Origin);
        if (string.IsNullOrEmpty(origin) && !_allowOriginAbsent)
        {
            return;
        }

        var headers = context.Response.Headers;
        var allowsAll = ConfigureOrigin(headers, origin, onResponse: true);
        ConfigureCredentials(headers, origin, allowsAll, onResponse: true);
        if (_exposedHeaders is not null)
        {
            headers[HeaderNames.AccessControlExposeHeaders] = _exposedHeaders;
        }
    }

    /// <summary><see cref="OnResponse"/> when the response starts, after whatever forwarded or refused the request set its headers.</summary>
    public void OnResponseStarting(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.OnStarting(static state =>
        {
            var (cors, httpContext) = ((KongCors, HttpContext))state;
            cors.OnResponse(httpContext);
            return Task.CompletedTask;
        }, (this, context));
    }

    /// <summary>handler.lua's configure_origin; true when every origin is allowed (<c>*</c>).</summary>
    private bool ConfigureOrigin(IHeaderDictionary headers, string? origin, bool onResponse)
    {
        if (_allowsAnyOrigin)
        {
            headers[HeaderNames.AccessControlAllowOrigin] = "*";
            return true;
        }

        // Always, matched or not: a cache keyed on the URL alone would serve one origin's answer to another.
        AddVary(headers, onResponse);
        if (_onlyOrigin is not null)
        {
            headers[HeaderNames.AccessControlAllowOrigin] = _onlyOrigin;
            return false;
        }

        if (!string.IsNullOrEmpty(origin))
        {
            if (_listHasWildcard)
            {
                headers[HeaderNames.AccessControlAllowOrigin] = "*";
                return true;
            }

            var normalized = NormalizedOrigin.Parse(origin);
            foreach (var entry in _origins)
            {
                if (entry.Matches(normalized))
                {
                    headers[HeaderNames.AccessControlAllowOrigin] = normalized.Domain;
                    return false;
                }
            }
        }

        headers.Remove(HeaderNames.AccessControlAllowOrigin);
        return false;
    }

    /// <summary>handler.lua's configure_credentials: with <c>*</c>, the request's own origin instead, since browsers refuse credentials for <c>*</c>.</summary>
    private void ConfigureCredentials(IHeaderDictionary headers, string? origin, bool allowsAll, bool onResponse)
    {
        if (!_credentials)
        {
            return;
        }

        if (!allowsAll)
        {
            headers[HeaderNames.AccessControlAllowCredentials] = "true";
            return;
        }

        if (!string.IsNullOrEmpty(origin))
        {
            AddVary(headers, onResponse);
            headers[HeaderNames.AccessControlAllowOrigin] = origin;
            headers[HeaderNames.AccessControlAllowCredentials] = "true";
        }
    }

    /// <summary>Kong sets Vary on the preflight it answers itself, and adds to the upstream's on a response.</summary>
    private static void AddVary(IHeaderDictionary headers, bool onResponse)
    {
        if (onResponse)
        {
            headers.Append(HeaderNames.Vary, "Origin");
        }
        else
        {
            headers[HeaderNames.Vary] = "Origin";
        }
    }

    /// <summary>The first value, as kong.request.get_header gives it.</summary>
    private static string? First(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    private static bool IsPlainOrigin(string origin) => origin.Length > 0 && !origin.AsSpan().ContainsAnyExcept(PlainOriginCharacters);

    /// <summary>Lua's tostring of a number (<c>%.14g</c>), as Kong writes max_age.</summary>
    private static string LuaNumber(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        return value.ToString("G14", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    /// <summary>One entry of config.origins other than <c>*</c>: a regex, or an origin compared once normalized.</summary>
    private sealed class OriginEntry
    {
        private readonly Regex? _pattern;
        private readonly string? _domain;

        /// <summary>An entry without a colon is compared with the origin's host only, not its scheme and port.</summary>
        private readonly bool _byHost;

        private OriginEntry(Regex? pattern, string? domain, bool byHost)
        {
            _pattern = pattern;
            _domain = domain;
            _byHost = byHost;
        }

        public static OriginEntry From(string entry)
        {
            var byHost = !entry.Contains(':', StringComparison.Ordinal);
            if (IsPlainOrigin(entry))
            {
                return new OriginEntry(null, NormalizedOrigin.Parse(entry).Domain, byHost);
            }

            // Kong appends $ unless the entry ends with one, drops a leading ^, and matches anchored at the start: the
            // entry must match the whole subject. Anchoring the entry as a group keeps Kong's reading of an
            // alternation (a|b becomes a|b$, each branch from the start).
            var pattern = entry.EndsWith('$') ? entry : entry + "$";
            if (pattern.StartsWith('^'))
            {
                pattern = pattern[1..];
            }

            var regex = new Regex(@"\A(?:" + pattern + ")", RegexOptions.CultureInvariant, RegexTimeout);
            return new OriginEntry(regex, null, byHost);
        }

        public bool Matches(NormalizedOrigin origin)
        {
            if (_pattern is null)
            {
                return origin.Domain == _domain;
            }

            try
            {
                return _pattern.IsMatch(_byHost ? origin.Host : origin.Domain);
            }
            catch (RegexMatchTimeoutException)
            {
                // Kong logs a failed match and goes on as if it had not matched.
                return false;
            }
        }
    }

    /// <summary>
    /// handler.lua's normalize_origin over LuaSocket's url.parse: <c>scheme://host[:port]</c> with the scheme's default
    /// port dropped, and the host alone; something without an authority (<c>example.test</c>, <c>null</c>) is both.
    /// </summary>
    private readonly record struct NormalizedOrigin(string Domain, string Host)
    {
        public static NormalizedOrigin Parse(string origin)
        {
            var rest = origin.AsSpan();
            string? scheme = null;

            // url.parse's ^([%w][%w%+%-%.]*)%:
            if (rest.Length > 0 && char.IsAsciiLetterOrDigit(rest[0]))
            {
                var length = 1;
                while (length < rest.Length && (char.IsAsciiLetterOrDigit(rest[length]) || rest[length] is '+' or '-' or '.'))
                {
                    length++;
                }

                if (length < rest.Length && rest[length] == ':')
                {
                    scheme = rest[..length].ToString();
                    rest = rest[(length + 1)..];
                }
            }

            // ^//([^/]*): no authority, no host.
            if (!rest.StartsWith("//", StringComparison.Ordinal))
            {
                return new NormalizedOrigin(origin, origin);
            }

            rest = rest[2..];
            var slash = rest.IndexOf('/');
            var authority = slash < 0 ? rest : rest[..slash];

            // ^([^@]*)@ takes the user information away.
            var at = authority.IndexOf('@');
            if (at >= 0)
            {
                authority = authority[(at + 1)..];
            }

            // :([^:%]]*)$ takes the port away: the last colon with no colon or ] after it.
            string? port = null;
            var colon = authority.LastIndexOf(':');
            if (colon >= 0 && !authority[(colon + 1)..].Contains(']'))
            {
                port = authority[(colon + 1)..].ToString();
                authority = authority[..colon];
            }

            if (authority.IsEmpty)
            {
                return new NormalizedOrigin(origin, origin);
            }

            // An IPv6 literal loses its brackets, in the host and in the domain alike.
            var host = authority.Length > 2 && authority[0] == '[' && authority[^1] == ']' ? authority[1..^1].ToString() : authority.ToString();
            if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443"))
            {
                port = null;
            }

            var domain = (scheme is null ? "" : scheme + "://") + host + (port is null ? "" : ":" + port);
            return new NormalizedOrigin(domain, host);
        }
    }
}
