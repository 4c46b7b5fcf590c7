using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace MlPlatform.AppHost.Publishing;

/// <summary>
/// The gateway settings that must not sit in a ConfigMap: consumers, API key hashes and other
/// credentials from the <c>Gateway</c> section of its appsettings.json, as environment variables
/// (<c>Gateway__Consumers__0__Keys__0</c>) so a Secret can carry and override them.
/// </summary>
internal static partial class GatewaySecrets
{
    [GeneratedRegex("consumer|key|secret|password|credential|auth|token", RegexOptions.IgnoreCase)]
    private static partial Regex Sensitive();

    public static SortedDictionary<string, string> Read(string appSettingsPath)
    {
        var secrets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(appSettingsPath))
        {
            return secrets;
        }

        var section = new ConfigurationBuilder().AddJsonFile(appSettingsPath, optional: true).Build().GetSection("Gateway");
        foreach (var (key, value) in section.AsEnumerable())
        {
            // Only leaves, and only those under a sensitive-looking name (a parent like Consumers counts).
            if (value is not null && Sensitive().IsMatch(key["Gateway".Length..]))
            {
                secrets[key.Replace(":", "__", StringComparison.Ordinal)] = value;
            }
        }

        return secrets;
    }
}
