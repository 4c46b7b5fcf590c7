using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Gateway.Declarative;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// Kong 3.x's request-transformer (kong/plugins/request-transformer/access.lua), built once per configuration and
/// shared by every request: replace.uri, then http_method, then the headers, the body and the query string, each in
/// Kong's order remove, rename, replace, add, append.
/// </summary>
/// <remarks>
/// <para>What Kong does, kept here: header names match case-insensitively, an added header keeps the configured case,
/// Host is never removed, renamed away or added but replace sets it even when absent; rename moves every value and
/// overwrites the target; a query or body argument without <c>=</c> is a flag, and append makes it give way; once any
/// query transform is configured the query is written back sorted by name (Kong's set_query); values that look like
/// numbers stay strings in a JSON body; a GET, HEAD or TRACE made by http_method takes a form body's arguments into the
/// query as well; a body that does not parse as its Content-Type says, and a body nothing changed, goes on as it came.</para>
/// <para>What it does not: templates such as <c>$(headers.x)</c> are sent literally, as Kong sends them with
/// untrusted_lua off except that Kong refuses such a value there; a body is buffered up to the server's request body
/// limit (or <see cref="BodyLimitWithoutServerLimit"/>) and a longer one is refused with 413, where Kong would keep
/// only its client_body_buffer_size in memory and transform the rest as if the body were empty.</para>
/// </remarks>
public sealed class KongRequestTransformer
{
    /// <summary>The most of a body buffered for a transform when the server sets no request body limit of its own.</summary>
    public const long BodyLimitWithoutServerLimit = 8 * 1024 * 1024;

    private readonly string? _httpMethod;
    private readonly bool _methodMovesFormBodyToQuery;
    private readonly PathString? _replacementPath;
    private readonly PluginRefusal? _replacementPathRefusal;
    private readonly TransformSet _headers;
    private readonly TransformSet _querystring;
    private readonly TransformSet _body;

    public KongRequestTransformer(RequestTransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _httpMethod = config.HttpMethod?.ToUpperInvariant();

        // Kong compares the configured method itself, not its upper case, with these; the schema allows upper case only.
        _methodMovesFormBodyToQuery = config.HttpMethod is "GET" or "HEAD" or "TRACE";

        // An empty uri renders to nothing and Kong leaves the path; one without a leading slash makes its PDK's
        // set_path throw on every request, which Kong answers with a 500.
        if (config.ReplaceUri is { Length: > 0 } uri)
        {
            if (uri.StartsWith('/'))
            {
                _replacementPath = new PathString(uri);
            }
            else
            {
                _replacementPathRefusal = KongRefusals.UnexpectedError;
            }
        }

        _headers = TransformSet.Headers(config);
        _querystring = TransformSet.Querystring(config);
        _body = TransformSet.Body(config);
    }

    /// <summary>Transforms the request in place; null, or the refusal to answer instead of forwarding it.</summary>
    public ValueTask<PluginRefusal?> ApplyAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_replacementPathRefusal is not null)
        {
            return ValueTask.FromResult<PluginRefusal?>(_replacementPathRefusal);
        }

        var request = context.Request;
        if (_replacementPath is { } path)
        {
            request.Path = path;
        }

        if (_httpMethod is not null)
        {
            request.Method = _httpMethod;

            // The Content-Type of the request as it came: Kong changes the method before it transforms any header.
            if (_methodMovesFormBodyToQuery && KindOf(request) == BodyKind.Form)
            {
                return MoveFormBodyToQueryThenTransformAsync(context);
            }
        }

        return TransformHeadersBodyAndQuery(context, body: null);
    }

    private enum BodyKind
    {
        None,
        Json,
        Multipart,
        Form,
    }

    private async ValueTask<PluginRefusal?> MoveFormBodyToQueryThenTransformAsync(HttpContext context)
    {
        var (body, refusal) = await RequestBodyBuffer.ReadAsync(context, BodyLimitWithoutServerLimit).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        var form = UrlEncodedArguments.Parse(body!.Memory.Span);
        if (form.Count > 0)
        {
            // ngx.req.set_uri_args writes the table in no order of its own; arrival order is the one a reader expects.
            var query = UrlEncodedArguments.Parse(context.Request.QueryString.Value ?? "");
            query.Merge(form);
            SetQuery(context.Request, query.ToEncodedString(sortedByName: false));
        }

        return await TransformHeadersBodyAndQuery(context, body).ConfigureAwait(false);
    }

    /// <summary>Headers, then the body (whose Content-Type is now the transformed one), then the query string.</summary>
    private ValueTask<PluginRefusal?> TransformHeadersBodyAndQuery(HttpContext context, PooledBody? body)
    {
        var request = context.Request;
        TransformHeaders(request.Headers);
        if (!_body.IsEmpty && KindOf(request) is var kind and not BodyKind.None)
        {
            return TransformBodyThenQueryAsync(context, kind, body);
        }

        TransformQuery(request);
        return ValueTask.FromResult<PluginRefusal?>(null);
    }

    private async ValueTask<PluginRefusal?> TransformBodyThenQueryAsync(HttpContext context, BodyKind kind, PooledBody? body)
    {
        if (body is null)
        {
            var (read, refusal) = await RequestBodyBuffer.ReadAsync(context, BodyLimitWithoutServerLimit).ConfigureAwait(false);
            if (refusal is not null)
            {
                return refusal;
            }

            body = read!;
        }

        // A transformed body is about as long as the one read: sized so, it is written without growing.
        var output = new PooledBufferWriter((int)Math.Min(Array.MaxLength, body.Memory.Length + 256L));
        bool transformed;
        try
        {
            transformed = kind switch
            {
                BodyKind.Json => JsonBodyTransform.TryTransform(body.Memory, _body, output),
                BodyKind.Form => TransformFormBody(body.Memory.Span, output),
                _ => MultipartBodyTransform.TryTransform(body.Memory, FirstContentType(context.Request)!, _body, output),
            };
        }
        catch
        {
            output.Dispose();
            throw;
        }

        if (transformed)
        {
            RequestBodyBuffer.Replace(context, body, output);
        }
        else
        {
            output.Dispose();
        }

        TransformQuery(context.Request);
        return null;
    }

    private bool TransformFormBody(ReadOnlySpan<byte> body, PooledBufferWriter output)
    {
        var arguments = UrlEncodedArguments.Parse(body);
        var changed = false;

        foreach (var name in _body.Remove)
        {
            changed |= arguments.Remove(name);
        }

        foreach (var pair in _body.Rename)
        {
            changed |= arguments.Rename(pair);
        }

        foreach (var pair in _body.Replace)
        {
            changed |= arguments.Replace(pair);
        }

        foreach (var pair in _body.Add)
        {
            changed |= arguments.Add(pair);
        }

        foreach (var pair in _body.Append)
        {
            arguments.Append(pair);
            changed = true;
        }

        if (changed)
        {
            arguments.WriteTo(output);
        }

        return changed;
    }

    private void TransformHeaders(IHeaderDictionary headers)
    {
        // Kong takes Host out of the table it transforms: remove, rename and add never touch it, replace always sets it.
        foreach (var name in _headers.Remove)
        {
            if (!IsHost(name))
            {
                headers.Remove(name);
            }
        }

        foreach (var pair in _headers.Rename)
        {
            if (IsHost(pair.Name) || pair.Name == pair.Value || !headers.TryGetValue(pair.Name, out var values))
            {
                continue;
            }

            // Removed first, so that a rename that only changes case sends the configured case.
            headers.Remove(pair.Name);
            headers[pair.Value] = values;
        }

        // An empty value renders to nil in Kong, which sets nothing.
        foreach (var pair in _headers.Replace)
        {
            if (pair.Value.Length > 0 && (IsHost(pair.Name) || headers.ContainsKey(pair.Name)))
            {
                headers[pair.Name] = pair.Value;
            }
        }

        foreach (var pair in _headers.Add)
        {
            if (pair.Value.Length > 0 && !IsHost(pair.Name) && !headers.ContainsKey(pair.Name))
            {
                headers[pair.Name] = pair.Value;
            }
        }

        foreach (var pair in _headers.Append)
        {
            if (pair.Value.Length == 0)
            {
                continue;
            }

            if (IsHost(pair.Name))
            {
                // A request has one Host; Kong would fail the request on the list it makes of it.
                headers[pair.Name] = pair.Value;
                continue;
            }

            // Kong sends the configured case of a header it appends to.
            var values = headers.TryGetValue(pair.Name, out var existing) ? StringValues.Concat(existing, pair.Value) : new StringValues(pair.Value);
            headers.Remove(pair.Name);
            headers[pair.Name] = values;
        }
    }

    private void TransformQuery(HttpRequest request)
    {
        if (_querystring.IsEmpty)
        {
            return;
        }

        var query = UrlEncodedArguments.Parse(request.QueryString.Value ?? "");
        foreach (var name in _querystring.Remove)
        {
            query.Remove(name);
        }

        foreach (var pair in _querystring.Rename)
        {
            query.Rename(pair);
        }

        foreach (var pair in _querystring.Replace)
        {
            query.Replace(pair);
        }

        foreach (var pair in _querystring.Add)
        {
            query.Add(pair);
        }

        foreach (var pair in _querystring.Append)
        {
            query.Append(pair);
        }

        // Kong writes the query back even when nothing changed, sorted by name.
        SetQuery(request, query.ToEncodedString(sortedByName: true));
    }

    private static void SetQuery(HttpRequest request, string encoded) =>
        request.QueryString = encoded.Length == 0 ? QueryString.Empty : new QueryString("?" + encoded);

    /// <summary>Kong's get_content_type: the first Content-Type, searched case-insensitively for each type in turn.</summary>
    private static BodyKind KindOf(HttpRequest request) => FirstContentType(request) switch
    {
        null => BodyKind.None,
        var type when type.Contains("application/json", StringComparison.OrdinalIgnoreCase) => BodyKind.Json,
        var type when type.Contains("multipart/form-data", StringComparison.OrdinalIgnoreCase) => BodyKind.Multipart,
        var type when type.Contains("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) => BodyKind.Form,
        _ => BodyKind.None,
    };

    private static string? FirstContentType(HttpRequest request) =>
        request.Headers.TryGetValue(HeaderNames.ContentType, out var values) && values.Count > 0 ? values[0] : null;

    private static bool IsHost(string name) => string.Equals(name, HeaderNames.Host, StringComparison.OrdinalIgnoreCase);
}
