using System.Security.Cryptography;

namespace MlPlatform.Dashboard.Components.TryIt;

/// <summary>
/// A W3C <c>traceparent</c> for one request the page sends: generated here, so the page knows the
/// trace id before the spans arrive and can link to it.
/// </summary>
public sealed record Traceparent(string TraceId, string SpanId)
{
    public static Traceparent New() => new(RandomHex(16), RandomHex(8));

    /// <summary>Version 00, sampled (flags 01), so every service records its spans.</summary>
    public string Header => $"00-{TraceId}-{SpanId}-01";

    // All-zero ids are invalid in the spec; the chance is negligible, but the check is cheap.
    private static string RandomHex(int bytes)
    {
        while (true)
        {
            var value = RandomNumberGenerator.GetBytes(bytes);
            if (value.Any(b => b != 0))
            {
                return Convert.ToHexStringLower(value);
            }
        }
    }
}
