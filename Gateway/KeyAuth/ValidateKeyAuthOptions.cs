using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.KeyAuth;

/// <summary>Consumers, keys and key names; every problem names its configuration key.</summary>
internal sealed class ValidateKeyAuthOptions : IValidateOptions<KeyAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyAuthOptions options)
    {
        var problems = new List<string>();
        var section = KeyAuthOptions.SectionName;
        for (var i = 0; i < options.KeyNames.Count; i++)
        {
            if (!HeaderName.IsValid(options.KeyNames[i]))
            {
                problems.Add($"{section}:KeyNames:{i} is '{options.KeyNames[i]}'; a key name must be a header name (letters, digits, '-', '_').");
            }
        }

        if (!options.KeyInHeader && !options.KeyInQuery)
        {
            problems.Add($"{section}:KeyInHeader and {section}:KeyInQuery are both false; no key could ever be found.");
        }

        RouteGroup.CheckNames(problems, $"{section}:RouteGroups", options.RouteGroups.Keys);

        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (id, consumer) in options.Consumers)
        {
            var key = $"{section}:Consumers:{id}";
            if (string.IsNullOrWhiteSpace(consumer.Username))
            {
                problems.Add($"{key}:Username is missing; every consumer needs a name for upstream services (X-Consumer-Username).");
            }

            if (consumer.KeyHashes.Count == 0)
            {
                problems.Add($"{key}:KeyHashes is empty; give the consumer the SHA-256 (hex) of at least one key: printf %s 'the-key' | sha256sum.");
            }

            for (var i = 0; i < consumer.KeyHashes.Count; i++)
            {
                var hash = consumer.KeyHashes[i];
                if (!IsSha256Hex(hash))
                {
                    problems.Add($"{key}:KeyHashes:{i} is not 64 hex digits; store the SHA-256 of the key, never the key: printf %s 'the-key' | sha256sum.");
                }
                else if (!seen.TryAdd(hash, id))
                {
                    problems.Add($"{key}:KeyHashes:{i} is also a key of consumer '{seen[hash]}'; a key must identify one consumer.");
                }
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsSha256Hex(string value)
    {
        if (value.Length != 64)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
