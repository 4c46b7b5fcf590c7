using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace MlPlatform.Gateway.KeyAuth;

/// <summary>A consumer the gateway knows: what upstream services are told in <c>X-Consumer-ID</c> and <c>X-Consumer-Username</c>.</summary>
internal sealed record Consumer(string Id, string Username);

/// <summary>Why a request carries no usable key; the reason tag of <c>mlplatform.gateway.auth.failures</c>.</summary>
internal enum KeyAuthFailure
{
    None,
    Missing,
    Invalid,

    /// <summary>Several different keys in one request: refused rather than one picked, so no key can hide behind another.</summary>
    Conflicting,
}

/// <summary>
/// Finds the key of a request under each key name, in headers and the query, and whose key it is, by the SHA-256 of the
/// key (<see cref="KeyDigest"/>): neither the configuration nor memory holds a key in clear. Used by the settings'
/// key-auth with <see cref="Consumer"/> and by a declarative configuration's with its own credentials.
/// </summary>
internal sealed class KeyAuthenticator<TOwner> where TOwner : class
{
    private readonly IReadOnlyDictionary<KeyDigest, TOwner> _keys;
    private readonly string[] _keyNames;
    private readonly bool _inHeader;
    private readonly bool _inQuery;

    public KeyAuthenticator(IReadOnlyList<string> keyNames, bool inHeader, bool inQuery, IReadOnlyDictionary<KeyDigest, TOwner> keys)
    {
        _keyNames = [.. keyNames];
        _inHeader = inHeader;
        _inQuery = inQuery;
        _keys = keys;
    }

    public IReadOnlyList<string> KeyNames => _keyNames;

    public (TOwner? Owner, KeyAuthFailure Failure) Authenticate(HttpRequest request)
    {
        string? key = null;
        var conflicting = false;
        foreach (var name in _keyNames)
        {
            if (_inHeader)
            {
                Collect(request.Headers[name], ref key, ref conflicting);
            }

            if (_inQuery && request.QueryString.HasValue)
            {
                Collect(request.Query[name], ref key, ref conflicting);
            }
        }

        if (conflicting)
        {
            return (null, KeyAuthFailure.Conflicting);
        }

        // Kong treats an empty key as no key: "No API key found in request".
        if (string.IsNullOrEmpty(key))
        {
            return (null, KeyAuthFailure.Missing);
        }

        return TryFind(key, out var owner) ? (owner, KeyAuthFailure.None) : (null, KeyAuthFailure.Invalid);
    }

    /// <summary>Whose key <paramref name="key"/> is, when it is anyone's.</summary>
    public bool TryFind(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TOwner? owner) => _keys.TryGetValue(KeyDigest.Of(key), out owner);

    /// <summary>Removes every key from the request, headers and query, so no upstream service ever sees one (Kong's <c>hide_credentials</c>).</summary>
    public void HideCredentials(HttpRequest request)
    {
        foreach (var name in _keyNames)
        {
            request.Headers.Remove(name);
        }

        if (!request.QueryString.HasValue)
        {
            return;
        }

        var found = false;
        foreach (var name in _keyNames)
        {
            found |= request.Query.ContainsKey(name);
        }

        if (!found)
        {
            return;
        }

        var kept = new QueryBuilder();
        foreach (var (name, values) in request.Query)
        {
            if (!IsKeyName(name))
            {
                foreach (var value in values)
                {
                    kept.Add(name, value ?? "");
                }
            }
        }

        request.QueryString = kept.ToQueryString();
    }

    private bool IsKeyName(string name)
    {
        foreach (var keyName in _keyNames)
        {
            if (string.Equals(keyName, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static void Collect(StringValues values, ref string? key, ref bool conflicting)
    {
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            if (key is null)
            {
                key = value;
            }
            else if (!string.Equals(key, value, StringComparison.Ordinal))
            {
                conflicting = true;
            }
        }
    }
}

internal static class KeyAuthenticator
{
    /// <summary>The settings' key-auth: <c>Gateway:KeyAuth</c>'s consumers and key names.</summary>
    public static KeyAuthenticator<Consumer> FromOptions(IOptions<KeyAuthOptions> options)
    {
        var settings = options.Value;
        var keys = new Dictionary<KeyDigest, Consumer>();
        foreach (var (id, consumer) in settings.Consumers)
        {
            var known = new Consumer(id, consumer.Username ?? id);
            foreach (var hash in consumer.KeyHashes)
            {
                // Validation on start refuses a hash that is not 64 hex digits or that two consumers share.
                if (hash.Length == SHA256.HashSizeInBytes * 2)
                {
                    keys.TryAdd(KeyDigest.FromHex(hash), known);
                }
            }
        }

        return new KeyAuthenticator<Consumer>(settings.EffectiveKeyNames, settings.KeyInHeader, settings.KeyInQuery, keys);
    }
}
