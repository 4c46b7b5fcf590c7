namespace MlPlatform.Gateway.Http;

/// <summary>What the gateway's settings accept as a header name: letters, digits, '-' and '_'.</summary>
internal static class HeaderName
{
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
