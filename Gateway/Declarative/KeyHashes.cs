using System.Security.Cryptography;
using System.Text;

namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// Turns a keyauth credential's <c>key</c> into what the model keeps: the SHA-256 of its UTF-8 bytes in lowercase hex,
/// the form key-auth compares against today (<c>Gateway:KeyAuth:Consumers:{id}:KeyHashes</c>). A key given as
/// <c>sha256:&lt;hex&gt;</c> is already that hash, so a file need not hold keys in clear.
/// </summary>
public static class KeyHashes
{
    public const string Prefix = "sha256:";

    public static string OfClearKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The hash of <paramref name="key"/>, or null with a problem that never quotes the key.</summary>
    internal static string? FromConfig(string key, out string? problem)
    {
        problem = null;
        if (!key.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            if (key.Length == 0)
            {
                problem = "length must be at least 1";
                return null;
            }

            return OfClearKey(key);
        }

        var hex = key[Prefix.Length..];
        if (hex.Length != SHA256.HashSizeInBytes * 2 || !hex.All(char.IsAsciiHexDigit))
        {
            problem = $"a key given as '{Prefix}' must be followed by the 64 hex digits of its SHA-256";
            return null;
        }

        return hex.ToLowerInvariant();
    }
}
