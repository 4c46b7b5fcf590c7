using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace MlPlatform.Gateway.KeyAuth;

/// <summary>
/// The SHA-256 of an API key, as a value a dictionary can look up without allocating. Looking a key up by its digest
/// rather than comparing it with every stored one keeps the cost of a request flat however many consumers there are;
/// the timing of the lookup can at most tell something about the digest of the key a client sent, which says nothing
/// about any stored key.
/// </summary>
internal readonly record struct KeyDigest(UInt128 High, UInt128 Low)
{
    public static KeyDigest Of(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var length = Encoding.UTF8.GetMaxByteCount(key.Length);
        Span<byte> bytes = length <= 1024 ? stackalloc byte[1024] : new byte[length];
        SHA256.HashData(bytes[..Encoding.UTF8.GetBytes(key, bytes)], hash);
        return From(hash);
    }

    /// <summary>A digest stored as 64 hex digits (<c>KeyHashes</c>, or a declarative file's <c>sha256:</c> key).</summary>
    public static KeyDigest FromHex(string hex)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        Convert.FromHexString(hex, hash, out _, out _);
        return From(hash);
    }

    /// <summary>The first 16 hex digits: enough to tell credentials apart in a counter's name, too few to look one up by.</summary>
    public string ShortHex()
    {
        Span<byte> high = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(high, High);
        return Convert.ToHexStringLower(high[..8]);
    }

    private static KeyDigest From(ReadOnlySpan<byte> hash) =>
        new(BinaryPrimitives.ReadUInt128BigEndian(hash[..16]), BinaryPrimitives.ReadUInt128BigEndian(hash[16..]));
}
