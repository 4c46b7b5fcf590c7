using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlPlatform.Postprocessing.Config;

/// <summary>
/// The <c>postprocess</c> section of a model's <c>config.json</c>: which output holds the class
/// scores and how to turn them into predictions people read. The postprocessing service reads it;
/// the inference service only serves it back.
/// </summary>
/// <example><c>{"output": "probabilities", "softmax": false, "top_k": 3}</c></example>
public sealed class PostprocessConfig
{
    public const string SectionName = "postprocess";

    public const int DefaultTopK = 1;

    private static readonly string[] FieldNames = ["output", "softmax", "top_k"];

    /// <summary>The output that holds one score per class, shaped <c>[batch, classes]</c> or <c>[classes]</c>.</summary>
    [JsonPropertyName("output")]
    public required string Output { get; init; }

    /// <summary>True when the output holds logits, which a softmax turns into probabilities; false when its scores are ranked as they are.</summary>
    [JsonPropertyName("softmax")]
    public bool Softmax { get; init; }

    /// <summary>How many classes each prediction lists, best first; more than the model has lists them all.</summary>
    [JsonPropertyName("top_k")]
    public int TopK { get; init; } = DefaultTopK;

    /// <summary>Reads a model's postprocess section and checks every field.</summary>
    /// <param name="section">The section as the model config holds it.</param>
    /// <param name="config">The section when it is valid.</param>
    /// <param name="problems">Every problem found, each naming its field; empty when the section is valid.</param>
    public static bool TryParse(JsonElement section, [NotNullWhen(true)] out PostprocessConfig? config, out IReadOnlyList<string> problems)
    {
        var found = new List<string>();
        config = null;
        problems = found;

        if (section.ValueKind != JsonValueKind.Object)
        {
            found.Add($"field '{SectionName}' is {Describe(section)}; it must be an object such as {{\"output\": \"probabilities\", \"top_k\": 3}}");
            return false;
        }

        string? output = null;
        var softmax = false;
        var topK = DefaultTopK;
        foreach (var property in section.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "output":
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        output = value.GetString();
                        AddIfNotNull(found, CheckOutput(output));
                    }
                    else
                    {
                        found.Add($"field '{SectionName}.output' is {Describe(value)}; it must be the name of an output, as a string");
                    }

                    break;
                case "softmax":
                    if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    {
                        softmax = value.GetBoolean();
                    }
                    else
                    {
                        found.Add($"field '{SectionName}.softmax' is {Describe(value)}; it must be true (the output holds logits) or false (it holds probabilities)");
                    }

                    break;
                case "top_k":
                    if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var k))
                    {
                        topK = k;
                        AddIfNotNull(found, CheckTopK(topK));
                    }
                    else
                    {
                        found.Add($"field '{SectionName}.top_k' is {Describe(value)}; it must be a whole number, 1 or more");
                    }

                    break;
                default:
                    // A misspelt field would otherwise fall back to its default without a word.
                    found.Add($"field '{SectionName}.{property.Name}' is not known; the fields are {string.Join(", ", FieldNames)}");
                    break;
            }
        }

        if (output is null && !section.TryGetProperty("output", out _))
        {
            found.Add($"field '{SectionName}.output' is missing; name the output that holds the class scores");
        }

        if (found.Count > 0)
        {
            return false;
        }

        config = new PostprocessConfig { Output = output!, Softmax = softmax, TopK = topK };
        return true;
    }

    /// <summary>Checks the values, for a section built in code as much as for one read from JSON.</summary>
    /// <returns>Every problem found, each naming its field; empty when the section is valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        AddIfNotNull(problems, CheckOutput(Output));
        AddIfNotNull(problems, CheckTopK(TopK));
        return problems;
    }

    private static string? CheckOutput(string? output) =>
        string.IsNullOrWhiteSpace(output) ? $"field '{SectionName}.output' is empty; name the output that holds the class scores" : null;

    private static string? CheckTopK(int topK) =>
        topK < 1 ? $"field '{SectionName}.top_k' is {topK.ToString(CultureInfo.InvariantCulture)}; it must be 1 or more" : null;

    private static void AddIfNotNull(List<string> problems, string? problem)
    {
        if (problem is not null)
        {
            problems.Add(problem);
        }
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{Shorten(value.GetString() ?? "")}\"",
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null => Shorten(value.GetRawText()),
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "missing",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
