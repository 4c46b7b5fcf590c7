using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MlPlatform.Gateway.Declarative;

/// <summary>
/// Reads a YAML or JSON text into YamlDotNet's node tree, and tells the types of its scalars as Kong's YAML reader does
/// (YAML 1.2's core schema): a quoted scalar is always a string, so <c>_format_version: "3.0"</c> is a string and
/// <c>_format_version: 3.0</c> a number.
/// </summary>
internal static partial class ConfigNode
{
    public static YamlNode? Load(string text, List<ConfigProblem> problems)
    {
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.Length > 0 && trimmed[0] is '{' or '[')
        {
            // JSON is YAML too, but YAML's reader refuses some valid JSON (tabs); JSON's own reader takes it all.
            try
            {
                using var document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow });
                return FromJson(document.RootElement);
            }
            catch (JsonException e)
            {
                problems.Add(new ConfigProblem("", $"failed parsing JSON: {e.Message}"));
                return null;
            }
        }

        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            problems.Add(new ConfigProblem("", $"failed parsing YAML at line {e.Start.Line}, column {e.Start.Column}: {(e.InnerException ?? e).Message}"));
            return null;
        }
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } scalar
        && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static bool TryString(YamlNode node, out string value)
    {
        if (node is YamlScalarNode scalar && !IsNull(node) && (IsQuoted(scalar) || (!TryBoolean(node, out _) && !TryNumber(node, out _))))
        {
            value = scalar.Value ?? "";
            return true;
        }

        value = "";
        return false;
    }

    public static bool TryBoolean(YamlNode node, out bool value)
    {
        value = false;
        if (node is not YamlScalarNode scalar || IsQuoted(scalar))
        {
            return false;
        }

        switch (scalar.Value)
        {
            case "true" or "True" or "TRUE":
                value = true;
                return true;
            case "false" or "False" or "FALSE":
                return true;
            default:
                return false;
        }
    }

    public static bool TryNumber(YamlNode node, out double value)
    {
        value = 0;
        if (node is not YamlScalarNode scalar || IsQuoted(scalar) || scalar.Value is not { Length: > 0 } text)
        {
            return false;
        }

        if (Integer().IsMatch(text))
        {
            return double.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }

        return Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>What the node is, in Kong's words, for "expected a string" messages that say what came instead.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a record",
        YamlSequenceNode => "an array",
        _ when IsNull(node) => "null",
        _ when TryBoolean(node, out _) => "a boolean",
        _ when TryNumber(node, out _) => "a number",
        _ => "a string",
    };

    private static bool IsQuoted(YamlScalarNode scalar) =>
        scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded;

    private static YamlNode FromJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var mapping = new YamlMappingNode();
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    // JSON readers differ on a key given twice (most keep the last, silently); either way one value is lost.
                    if (!names.Add(property.Name))
                    {
                        throw new JsonException($"the key '{property.Name}' appears twice in one object");
                    }

                    mapping.Add(new YamlScalarNode(property.Name) { Style = ScalarStyle.DoubleQuoted }, FromJson(property.Value));
                }

                return mapping;
            case JsonValueKind.Array:
                var sequence = new YamlSequenceNode();
                foreach (var item in element.EnumerateArray())
                {
                    sequence.Add(FromJson(item));
                }

                return sequence;
            case JsonValueKind.String:
                return new YamlScalarNode(element.GetString()) { Style = ScalarStyle.DoubleQuoted };
            case JsonValueKind.Null:
                return new YamlScalarNode("null") { Style = ScalarStyle.Plain };
            default:
                // Numbers and booleans keep their JSON text, which YAML's core schema reads alike.
                return new YamlScalarNode(element.GetRawText()) { Style = ScalarStyle.Plain };
        }
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
