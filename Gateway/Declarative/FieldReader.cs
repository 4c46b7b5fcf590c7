using YamlDotNet.RepresentationModel;

namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// Reads the fields of one record (an entity, a plugin's <c>config</c>, a nested record), reporting each problem with
/// its path and going on, so one pass finds every problem. Fields never asked for are Kong's "unknown field".
/// A field given as null counts as not given, as in Kong.
/// </summary>
internal sealed class FieldReader
{
    private readonly Dictionary<string, YamlNode> _fields = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly List<ConfigProblem> _problems;

    public FieldReader(YamlMappingNode node, string path, List<ConfigProblem> problems)
    {
        Path = path;
        _problems = problems;
        foreach (var (key, value) in node.Children)
        {
            var name = key is YamlScalarNode scalar ? scalar.Value ?? "" : key.ToString();
            _fields[name] = value;
        }
    }

    public string Path { get; }

    public List<ConfigProblem> Problems => _problems;

    /// <summary>A reader over no fields, where a record is optional and absent: every field takes its default.</summary>
    public static FieldReader Empty(string path, List<ConfigProblem> problems) => new(new YamlMappingNode(), path, problems);

    /// <summary>A reader for the record at <paramref name="path"/>, or null (reported) when the node is no record.</summary>
    public static FieldReader? Of(YamlNode node, string path, List<ConfigProblem> problems)
    {
        if (node is YamlMappingNode mapping)
        {
            return new FieldReader(mapping, path, problems);
        }

        problems.Add(new ConfigProblem(path, "expected a record"));
        return null;
    }

    public string At(string field) => Path.Length == 0 ? field : $"{Path}.{field}";

    public void Problem(string field, string message) => _problems.Add(new ConfigProblem(field.Length == 0 ? Path : At(field), message));

    /// <summary>The field's node, marked read; null when absent or null.</summary>
    public YamlNode? Node(string field)
    {
        _read.Add(field);
        return _fields.TryGetValue(field, out var node) && !ConfigNode.IsNull(node) ? node : null;
    }

    public bool Has(string field) => _fields.TryGetValue(field, out var node) && !ConfigNode.IsNull(node);

    public string? String(string field)
    {
        if (Node(field) is not { } node)
        {
            return null;
        }

        if (ConfigNode.TryString(node, out var value))
        {
            return value;
        }

        Problem(field, "expected a string");
        return null;
    }

    public bool Boolean(string field, bool defaultValue)
    {
        if (Node(field) is not { } node)
        {
            return defaultValue;
        }

        if (ConfigNode.TryBoolean(node, out var value))
        {
            return value;
        }

        Problem(field, "expected a boolean");
        return defaultValue;
    }

    public bool? OptionalBoolean(string field)
    {
        if (Node(field) is not { } node)
        {
            return null;
        }

        if (ConfigNode.TryBoolean(node, out var value))
        {
            return value;
        }

        Problem(field, "expected a boolean");
        return null;
    }

    public double? Number(string field)
    {
        if (Node(field) is not { } node)
        {
            return null;
        }

        if (ConfigNode.TryNumber(node, out var value))
        {
            return value;
        }

        Problem(field, "expected a number");
        return null;
    }

    public long? Integer(string field)
    {
        if (Node(field) is not { } node)
        {
            return null;
        }

        if (ConfigNode.TryNumber(node, out var value) && value == Math.Floor(value) && Math.Abs(value) < 9e15)
        {
            return (long)value;
        }

        Problem(field, "expected an integer");
        return null;
    }

    /// <summary>An integer between <paramref name="min"/> and <paramref name="max"/>, else its default (with Kong's message).</summary>
    public int IntegerBetween(string field, long min, long max, int defaultValue)
    {
        if (Integer(field) is not { } value)
        {
            return defaultValue;
        }

        if (value < min || value > max)
        {
            Problem(field, $"value should be between {min} and {max}");
            return defaultValue;
        }

        return (int)value;
    }

    /// <summary>One of <paramref name="allowed"/>, else its default (reported, with <paramref name="why"/> after Kong's words).</summary>
    public string OneOf(string field, IReadOnlyList<string> allowed, string defaultValue, string? why = null) =>
        OptionalOneOf(field, allowed, why) ?? defaultValue;

    public string? OptionalOneOf(string field, IReadOnlyList<string> allowed, string? why = null)
    {
        if (String(field) is not { } value)
        {
            return null;
        }

        if (allowed.Contains(value, StringComparer.Ordinal))
        {
            return value;
        }

        Problem(field, $"expected one of: {string.Join(", ", allowed)}{(why is null ? "" : $" ({why})")}");
        return null;
    }

    public YamlSequenceNode? Array(string field)
    {
        if (Node(field) is not { } node)
        {
            return null;
        }

        if (node is YamlSequenceNode sequence)
        {
            return sequence;
        }

        Problem(field, "expected an array");
        return null;
    }

    /// <summary>
    /// An array of strings, each checked by <paramref name="check"/> (null: fine; otherwise the problem), reported at
    /// <c>field[i]</c>. Kong's single-string shorthand for an array is not taken: a declarative file is JSON-shaped.
    /// </summary>
    public List<string>? Strings(string field, Func<string, string?>? check = null)
    {
        if (Array(field) is not { } sequence)
        {
            return null;
        }

        var values = new List<string>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var at = $"{field}[{i}]";
            if (!ConfigNode.TryString(sequence.Children[i], out var value))
            {
                Problem(at, "expected a string");
                continue;
            }

            if (check?.Invoke(value) is { } problem)
            {
                Problem(at, problem);
                continue;
            }

            values.Add(value);
        }

        return values;
    }

    /// <summary>A nested record's reader, or an empty one when it is absent (so its defaults apply).</summary>
    public FieldReader Record(string field)
    {
        if (Node(field) is not { } node)
        {
            return Empty(At(field), _problems);
        }

        return Of(node, At(field), _problems) ?? Empty(At(field), _problems);
    }

    public IEnumerable<(string Name, YamlNode Node)> MapEntries(string field)
    {
        if (Node(field) is not { } node)
        {
            yield break;
        }

        if (node is not YamlMappingNode mapping)
        {
            Problem(field, "expected a map");
            yield break;
        }

        foreach (var (key, value) in mapping.Children)
        {
            yield return (key is YamlScalarNode scalar ? scalar.Value ?? "" : key.ToString(), value);
        }
    }

    /// <summary>Kong's annotations, then every field not read: "unknown field".</summary>
    public void Finish()
    {
        if (Node("_comment") is { } comment && !ConfigNode.TryString(comment, out _))
        {
            Problem("_comment", "expected a string");
        }

        if (Node("_ignore") is { } ignore && ignore is not YamlSequenceNode)
        {
            Problem("_ignore", "expected an array");
        }

        foreach (var field in _fields.Keys)
        {
            if (!_read.Contains(field))
            {
                Problem(field, "unknown field");
            }
        }
    }

    /// <summary>Marks fields read without taking them, for those only a later pass reads (nested entities).</summary>
    public void Claim(params string[] fields)
    {
        foreach (var field in fields)
        {
            _read.Add(field);
        }
    }
}
