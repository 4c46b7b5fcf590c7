using System.Text.Json;
using MlPlatform.Postprocessing.Config;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>The postprocess section of a model config: read, defaulted, and every problem named at once.</summary>
public sealed class PostprocessConfigTests
{
    [Fact]
    public void TryParse_BundledModelSection_ReadsEveryField()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(TestSupport.RepositoryPaths.InRoot("models", "mnist", "config.json")));

        Assert.True(PostprocessConfig.TryParse(config.RootElement.GetProperty("postprocess"), out var section, out var problems));

        Assert.Empty(problems);
        Assert.Equal("probabilities", section.Output);
        Assert.False(section.Softmax);
        Assert.Equal(3, section.TopK);
    }

    [Fact]
    public void TryParse_OnlyTheOutput_DefaultsToNoSoftmaxAndTopOne()
    {
        using var json = JsonDocument.Parse("""{"output": "y"}""");

        Assert.True(PostprocessConfig.TryParse(json.RootElement, out var section, out _));

        Assert.False(section.Softmax);
        Assert.Equal(PostprocessConfig.DefaultTopK, section.TopK);
    }

    [Theory]
    [InlineData("""{"softmax": true}""", 1, new[] { "'postprocess.output' is missing" })]
    [InlineData("""{"output": 3, "softmax": "yes", "top_k": 2.5}""", 3, new[] { "'postprocess.output' is 3", "'postprocess.softmax' is \"yes\"", "'postprocess.top_k' is 2.5" })]
    [InlineData("""{"output": " ", "top_k": -1}""", 2, new[] { "'postprocess.output' is empty", "'postprocess.top_k' is -1" })]
    [InlineData("""{"output": "y", "topk": 3}""", 1, new[] { "'postprocess.topk' is not known", "output, softmax, top_k" })]
    [InlineData("""{"output": "y", "top_k": 99999999999}""", 1, new[] { "'postprocess.top_k' is 99999999999" })]
    [InlineData("""[1, 2]""", 1, new[] { "'postprocess' is an array" })]
    public void TryParse_BadSection_NamesEveryField(string json, int problemCount, string[] fragments)
    {
        using var document = JsonDocument.Parse(json);

        Assert.False(PostprocessConfig.TryParse(document.RootElement, out var section, out var problems));

        Assert.Null(section);
        var all = string.Join("\n", problems);
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, all);
        }

        Assert.Equal(problemCount, problems.Count);
    }

    [Fact]
    public void Validate_SectionBuiltInCode_ReportsTheSameRules()
    {
        var section = new PostprocessConfig { Output = "", TopK = 0 };

        Assert.Equal(2, section.Validate().Count);
    }
}
