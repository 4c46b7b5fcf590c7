using System.Text.Json;
using MlPlatform.Preprocessing.Config;
using MlPlatform.TestSupport;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>Reading and checking <c>preprocess</c> sections, with no service running.</summary>
public sealed class PreprocessConfigTests
{
    [Fact]
    public void TryParse_BundledMnistConfig_ReadsEveryStep()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(RepositoryPaths.InRoot("models", "mnist", "config.json")));

        var ok = PreprocessConfig.TryParse(config.RootElement.GetProperty("preprocess"), 64, out var parsed, out var problems);

        Assert.True(ok, string.Join("; ", problems));
        Assert.Equal("input", parsed!.Input);
        Assert.Equal(TensorLayout.Nchw, parsed.TensorLayout);
        Assert.Equal([1L, 28, 28], parsed.InstanceShape);
        Assert.Equal(
            ["decode", "grayscale", "invert", "remove_background", "autocontrast", "crop_to_ink", "fit", "center_of_mass", "normalize"],
            parsed.Steps.Select(step => step.Op));
        var fit = Assert.IsType<FitStep>(parsed.Steps[6]);
        Assert.Equal(20, fit.BoxWidth);
        Assert.Equal(InvertStep.LightBackground, Assert.IsType<InvertStep>(parsed.Steps[2]).When);
    }

    [Fact]
    public void TryParse_RgbModelWithMeanAndStdPerChannel_ReadsThem()
    {
        var section = Parse("""
            {
              "input": "pixel_values", "layout": "NHWC", "width": 224, "height": 224, "channels": 3,
              "steps": [
                { "op": "decode" },
                { "op": "resize", "width": 224, "height": 224, "mode": "cover" },
                { "op": "normalize", "scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
              ]
            }
            """);

        Assert.True(PreprocessConfig.TryParse(section, 8, out var parsed, out var problems), string.Join("; ", problems));
        Assert.Equal([224L, 224, 3], parsed!.InstanceShape);
        var normalize = Assert.IsType<NormalizeStep>(parsed.Steps[^1]);
        Assert.Equal([0.485f, 0.456f, 0.406f], normalize.Mean);
        Assert.Equal(ResizeStep.Cover, Assert.IsType<ResizeStep>(parsed.Steps[1]).Mode);
    }

    [Fact]
    public void TryParse_StepsWithStructuralMistakes_ListsEveryOneWithItsField()
    {
        var section = Parse("""
            {
              "input": "x", "layout": "NCWH", "width": 28, "height": 28, "channels": 1,
              "steps": [
                { "op": "decode", "min_side": "big" },
                { "op": "blur", "radius": 2 },
                { "op": "fit", "sise": 20 },
                { "size": 3 },
                { "op": "normalize", "mean": [0.1, "x"] }
              ]
            }
            """);

        Assert.False(PreprocessConfig.TryParse(section, 8, out var parsed, out var problems));
        Assert.Null(parsed);
        AssertProblem(problems, "preprocess.layout:", "NCWH");
        AssertProblem(problems, "preprocess.steps[0].min_side:", "whole number");
        AssertProblem(problems, "preprocess.steps[1].op:", "'blur' is not a step", "crop_to_ink");
        AssertProblem(problems, "preprocess.steps[2].sise:", "unknown field", "size");
        AssertProblem(problems, "preprocess.steps[3].op:", "missing");
        AssertProblem(problems, "preprocess.steps[4].mean:", "number");
        Assert.Equal(6, problems.Count);
    }

    [Fact]
    public void TryParse_StepsThatCannotMakeTheTensor_ListsEveryProblem()
    {
        var section = Parse("""
            {
              "layout": "CHW", "datatype": "FP16", "width": 28, "height": 0, "channels": 1,
              "steps": [
                { "op": "grayscale" },
                { "op": "normalize", "std": 0 },
                { "op": "fit", "size": 20 },
                { "op": "decode", "background": 300 },
                { "op": "invert", "when": "sometimes" },
                { "op": "crop_to_ink", "threshold": 1.5 }
              ]
            }
            """);

        Assert.False(PreprocessConfig.TryParse(section, 8, out _, out var problems));
        AssertProblem(problems, "preprocess.input:", "missing");
        AssertProblem(problems, "preprocess.datatype:", "FP16");
        AssertProblem(problems, "preprocess.layout:", "no batch dimension", "max_batch_size is 8");
        AssertProblem(problems, "preprocess.height:", "is 0");
        AssertProblem(problems, "preprocess.steps[0].op:", "first step must be decode");
        AssertProblem(problems, "preprocess.steps[1].op:", "normalize must be the last step");
        AssertProblem(problems, "preprocess.steps[1].std:", "divides by zero");
        AssertProblem(problems, "preprocess.steps[3].op:", "decode may only be the first step");
        AssertProblem(problems, "preprocess.steps[3].background:", "0..255");
        AssertProblem(problems, "preprocess.steps[4].when:", "light_background");
        AssertProblem(problems, "preprocess.steps[5].threshold:", "1.5");
        AssertProblem(problems, "preprocess.steps:", "depends on the input");
    }

    [Theory]
    [InlineData("""[{ "op": "decode" }, { "op": "resize", "width": 32, "height": 32 }]""", 32, 32, 1, "channels is 1; add a grayscale step")]
    [InlineData("""[{ "op": "decode" }, { "op": "grayscale" }, { "op": "resize", "width": 32, "height": 32 }]""", 32, 32, 3, "make 1 channel")]
    [InlineData("""[{ "op": "decode" }, { "op": "grayscale" }, { "op": "center_of_mass", "width": 28, "height": 28 }]""", 32, 32, 1, "make a 28x28 image, but width and height are 32x32")]
    [InlineData("""[{ "op": "decode" }, { "op": "resize", "width": 8, "height": 8 }, { "op": "normalize", "mean": [1, 2] }]""", 8, 8, 3, "mean: has 2 values")]
    [InlineData("""[{ "op": "decode" }, { "op": "fit", "size": 20, "width": 3 }, { "op": "resize", "width": 8, "height": 8 }]""", 8, 8, 3, "either size or width and height")]
    public void TryParse_InconsistentSteps_NamesTheMismatch(string steps, int width, int height, int channels, string fragment)
    {
        var section = Parse($$"""{ "input": "x", "width": {{width}}, "height": {{height}}, "channels": {{channels}}, "steps": {{steps}} }""");

        Assert.False(PreprocessConfig.TryParse(section, 0, out _, out var problems));
        Assert.Contains(problems, problem => problem.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public void TryParse_ImageNetClassifierSection_ReadsResizeShorterCenterCropAndChannelOrder()
    {
        var section = Parse("""
            {
              "input": "input", "datatype": "FP32", "layout": "NCHW", "width": 224, "height": 224, "channels": 3, "channel_order": "RGB",
              "steps": [ { "op": "decode" }, { "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "width": 224, "height": 224 },
                         { "op": "normalize", "scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] } ]
            }
            """);

        Assert.True(PreprocessConfig.TryParse(section, 8, out var parsed, out var problems), string.Join("; ", problems));
        Assert.Equal([3L, 224, 224], parsed!.InstanceShape);
        Assert.Equal(["decode", "resize_shorter", "center_crop", "normalize"], parsed.Steps.Select(step => step.Op));
        Assert.Equal(256, Assert.IsType<ResizeShorterStep>(parsed.Steps[1]).Size);
        var crop = Assert.IsType<CenterCropStep>(parsed.Steps[2]);
        Assert.Equal((224, 224), (crop.Width, crop.Height));
        Assert.False(parsed.IsBgr);
    }

    [Theory]
    [InlineData("\"BGR\"", true)]
    [InlineData("\"RGB\"", false)]
    [InlineData(null, false)]
    public void TryParse_ChannelOrder_IsReadWithRgbWhenAbsent(string? channelOrder, bool bgr)
    {
        var order = channelOrder is null ? "" : $"\"channel_order\": {channelOrder},";
        var section = Parse($$"""
            { "input": "x", "layout": "NHWC", "width": 224, "height": 224, "channels": 3, {{order}}
              "steps": [ { "op": "decode" }, { "op": "center_crop", "width": 224, "height": 224 } ] }
            """);

        Assert.True(PreprocessConfig.TryParse(section, 8, out var parsed, out var problems), string.Join("; ", problems));
        Assert.Equal(bgr, parsed!.IsBgr);
    }

    [Fact]
    public void TryParse_ResizeShorterAfterAResize_KnowsTheSizeItMakes()
    {
        // 300x200 with the shorter side at 100: int(100 * 300 / 200) = 150, so 150x100.
        var section = Parse("""
            { "input": "x", "width": 150, "height": 100, "channels": 3,
              "steps": [ { "op": "decode" }, { "op": "resize", "width": 300, "height": 200 }, { "op": "resize_shorter", "size": 100 } ] }
            """);

        Assert.True(PreprocessConfig.TryParse(section, 0, out _, out var problems), string.Join("; ", problems));
    }

    [Theory]
    [InlineData("\"channel_order\": \"GBR\",", 3, "", "preprocess.channel_order: is 'GBR'; it must be RGB or BGR")]
    [InlineData("\"channel_order\": \"BGR\",", 1, "{ \"op\": \"grayscale\" },", "preprocess.channel_order: is 'BGR', but channels is 1; a channel order needs 3 channels")]
    [InlineData("\"channel_order\": \"RGB\",", 1, "{ \"op\": \"grayscale\" },", "preprocess.channel_order: is 'RGB', but channels is 1; a channel order needs 3 channels")]
    [InlineData("\"channel_order\": 3,", 3, "", "preprocess.channel_order: must be a string")]
    [InlineData("\"chanel_order\": \"BGR\",", 3, "", "preprocess.chanel_order: unknown field; known fields are input, datatype, layout, width, height, channels, channel_order, steps")]
    public void TryParse_BadChannelOrder_NamesIt(string field, int channels, string grayscale, string expected)
    {
        var section = Parse($$"""
            { "input": "x", "width": 224, "height": 224, "channels": {{channels}}, {{field}}
              "steps": [ { "op": "decode" }, {{grayscale}} { "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "width": 224, "height": 224 } ] }
            """);

        Assert.False(PreprocessConfig.TryParse(section, 0, out _, out var problems));
        Assert.Equal([expected], problems);
    }

    [Theory]
    [InlineData("""{ "op": "resize_shorter", "size": 0 }, { "op": "center_crop", "width": 224, "height": 224 }""", "preprocess.steps[1].size: is 0; it must be 1..8192")]
    [InlineData("""{ "op": "resize_shorter" }, { "op": "center_crop", "width": 224, "height": 224 }""", "preprocess.steps[1].size: is 0; it must be 1..8192")]
    [InlineData("""{ "op": "resize_shorter", "size": 9000 }, { "op": "center_crop", "width": 224, "height": 224 }""", "preprocess.steps[1].size: is 9000; it must be 1..8192")]
    [InlineData("""{ "op": "resize_shorter", "size": 256.5 }, { "op": "center_crop", "width": 224, "height": 224 }""", "preprocess.steps[1].size: must be a whole number")]
    [InlineData("""{ "op": "resize_shorter", "size": 256, "max_size": 300 }, { "op": "center_crop", "width": 224, "height": 224 }""", "preprocess.steps[1].max_size: unknown field; known fields are size")]
    [InlineData("""{ "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "size": 224, "width": 224, "height": 224 }""", "preprocess.steps[2].size: unknown field; known fields are width, height")]
    [InlineData("""{ "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "width": "224", "height": 224 }""", "preprocess.steps[2].width: must be a whole number")]
    [InlineData("""{ "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "width": 224, "height": -1 }""", "preprocess.steps[2].height: is -1; it must be 1..8192")]
    [InlineData("""{ "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "width": 200, "height": 224 }""", "preprocess.steps: the steps make a 200x224 image, but width and height are 224x224")]
    [InlineData("""{ "op": "resize_shorter", "size": 224 }""", "preprocess.steps: the image's size after the last step depends on the input; end with resize, center_crop or center_of_mass of 224x224")]
    [InlineData("""{ "op": "resize", "width": 300, "height": 200 }, { "op": "resize_shorter", "size": 224 }""", "preprocess.steps: the steps make a 336x224 image, but width and height are 224x224")]
    public void TryParse_BadResizeShorterOrCenterCrop_NamesTheField(string steps, string expected)
    {
        var section = Parse($$"""
            { "input": "x", "width": 224, "height": 224, "channels": 3,
              "steps": [ { "op": "decode" }, {{steps}}, { "op": "normalize", "mean": [0.485, 0.456, 0.406] } ] }
            """);

        Assert.False(PreprocessConfig.TryParse(section, 0, out _, out var problems));
        Assert.Contains(expected, problems);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"decode\"")]
    [InlineData("null")]
    public void TryParse_SectionThatIsNotAnObject_SaysSo(string json)
    {
        Assert.False(PreprocessConfig.TryParse(Parse(json), 0, out _, out var problems));
        Assert.Contains(problems, problem => problem.StartsWith("preprocess: must be an object", StringComparison.Ordinal));
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static void AssertProblem(IReadOnlyList<string> problems, string field, params string[] fragments) =>
        Assert.True(
            problems.Any(problem => problem.StartsWith(field, StringComparison.Ordinal) && fragments.All(f => problem.Contains(f, StringComparison.Ordinal))),
            $"no problem '{field} ... {string.Join(" ... ", fragments)}' in:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
}
