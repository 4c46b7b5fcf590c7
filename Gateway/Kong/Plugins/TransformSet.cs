using MlPlatform.Gateway.Declarative;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// One <c>name:value</c> of a request-transformer list (for rename, <c>old:new</c>), with both halves also as nginx
/// encodes them, worked out once when the configuration is loaded rather than on every request.
/// </summary>
internal readonly record struct TransformPair(string Name, string Value, string EncodedName, string EncodedValue)
{
    public static TransformPair From(KeyValuePair<string, string> pair) =>
        new(pair.Key, pair.Value, UrlEncodedArguments.Escape(pair.Key), UrlEncodedArguments.Escape(pair.Value));
}

/// <summary>What request-transformer does to one part of a request (its headers, its query or its body), in Kong's order.</summary>
internal sealed class TransformSet
{
    public TransformSet(IReadOnlyList<string> remove, IReadOnlyList<KeyValuePair<string, string>> rename,
        IReadOnlyList<KeyValuePair<string, string>> replace, IReadOnlyList<KeyValuePair<string, string>> add,
        IReadOnlyList<KeyValuePair<string, string>> append)
    {
        var names = new List<string>(remove.Count);
        foreach (var entry in remove)
        {
            // Kong reads every entry with ^([^:]+):*(.-)$, remove's too: "qs-old-name:qs-new-name" removes qs-old-name,
            // and an entry with nothing before its colon names nothing.
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var name = colon < 0 ? entry : entry[..colon];
            if (name.Length > 0)
            {
                names.Add(name);
            }
        }

        Remove = [.. names];
        Rename = Pairs(rename);
        Replace = Pairs(replace);
        Add = Pairs(add);
        Append = Pairs(append);
        IsEmpty = Remove.Length == 0 && Rename.Length == 0 && Replace.Length == 0 && Add.Length == 0 && Append.Length == 0;
    }

    public string[] Remove { get; }

    public TransformPair[] Rename { get; }

    public TransformPair[] Replace { get; }

    public TransformPair[] Add { get; }

    public TransformPair[] Append { get; }

    public bool IsEmpty { get; }

    public static TransformSet Headers(RequestTransformerConfig config) => new(config.Remove.Headers, config.Rename.Headers,
        config.Replace.Headers, config.Add.Headers, config.Append.Headers);

    public static TransformSet Querystring(RequestTransformerConfig config) => new(config.Remove.Querystring, config.Rename.Querystring,
        config.Replace.Querystring, config.Add.Querystring, config.Append.Querystring);

    public static TransformSet Body(RequestTransformerConfig config) => new(config.Remove.Body, config.Rename.Body,
        config.Replace.Body, config.Add.Body, config.Append.Body);

    private static TransformPair[] Pairs(IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        var result = new TransformPair[pairs.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = TransformPair.From(pairs[i]);
        }

        return result;
    }
}
