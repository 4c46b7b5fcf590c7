using System.Security.Cryptography;
using System.Text;
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
/// Finds the key of a request under each configured name, in headers and the query, and the consumer whose
/// key hash it matches. Keys are stored as SHA-256 hashes and compared in constant time, every stored hash
/// every time, so neither the configuration nor the timing of an answer gives a key away.
/// </summary>
internal sealed class KeyAuthenticator
{
    private readonly (byte[] Hash, Consumer Consumer)[] _keys;
    private readonly string[] _keyNames;
    private readonly bool _inHeader;
    private readonly bool _inQuery;

    public KeyAuthenticator(IOptions<KeyAuthOptions> options)
    {
        var settings = options.Value;
        _keyNames = [.. settings.EffectiveKeyNames];
        _inHeader = settings.KeyInHeader;
        _inQuery = settings.KeyInQuery;
        var keys = new List<(byte[], Consumer)>();
        foreach (var (id, consumer) in settings.Consumers)
        {
            var known = new Consumer(id, consumer.Username ?? id);
            foreach (var hash in consumer.KeyHashes)
            {
                keys.Add((Convert.FromHexString(hash), known));
            }
        }

        _keys = [.. keys];
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public (Consumer? Consumer, KeyAuthFailure Failure) Authenticate(HttpRequest request)
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

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var length = Encoding.UTF8.GetMaxByteCount(key.Length);
        Span<byte> bytes = length <= 1024 ? stackalloc byte[1024] : new byte[length];
        SHA256.HashData(bytes[..Encoding.UTF8.GetBytes(key, bytes)], hash);

        Consumer? found = null;
        foreach (var (stored, consumer) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(stored, hash))
            {
                found = consumer;
            }
        }

        return found is null ? (null, KeyAuthFailure.Invalid) : (found, KeyAuthFailure.None);
    }

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
