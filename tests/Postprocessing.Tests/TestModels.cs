using System.Globalization;
using System.Text.Json;
using MlPlatform.OnnxWriter;
using MlPlatform.TestSupport;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>A throwaway model repository: generated models whose outputs the tests choose, and a copy of the bundled digit model.</summary>
internal static class TestModels
{
    /// <summary>Logits in FP32 behind another output, softmax on, labels with a non-ASCII name.</summary>
    public const string Animals = "animals";

    /// <summary>FP16 scores, softmax off, fewer labels than classes.</summary>
    public const string HalfScores = "half-scores";

    /// <summary>FP64 logits, softmax on, top_k above the class count, no labels.</summary>
    public const string DoubleLogits = "double-logits";

    /// <summary>40 FP32 scores and top_k 100: past the insertion limit, so every class is sorted.</summary>
    public const string Wide = "wide";

    /// <summary>No postprocess section at all.</summary>
    public const string Plain = "plain";

    /// <summary>A postprocess section with every field wrong.</summary>
    public const string Broken = "broken";

    public const string Mnist = "mnist";

    public const int WideClasses = 40;

    public static readonly string[] AnimalLabels = ["cat", "dog", "bird", "émeu"];

    public static readonly string[] HalfLabels = ["low", "high"];

    public static string CreateRepository()
    {
        var repository = Directory.CreateTempSubdirectory("mlplatform-postprocess-models-").FullName;

        AddModel(repository, Animals, Postprocess("logits", softmax: true, topK: 3), AnimalLabels, new OnnxGraphBuilder(Animals)
            .Input("x", OnnxElementType.Float, -1, 4)
            .Output("features", OnnxElementType.Float, -1, 4)
            .Output("logits", OnnxElementType.Float, -1, 4)
            .Initializer("two", [1], [2f])
            .Node("Mul", ["x", "two"], ["features"])
            .Node("Identity", ["x"], ["logits"]));

        AddModel(repository, HalfScores, Postprocess("scores", softmax: false, topK: 2), HalfLabels, new OnnxGraphBuilder(HalfScores)
            .Input("x", OnnxElementType.Float, -1, 3)
            .Output("scores", OnnxElementType.Float16, -1, 3)
            .Node("Cast", ["x"], ["scores"], OnnxAttribute.Int("to", (long)OnnxElementType.Float16)));

        AddModel(repository, DoubleLogits, Postprocess("logits", softmax: true, topK: 5), null, new OnnxGraphBuilder(DoubleLogits)
            .Input("x", OnnxElementType.Float, -1, 3)
            .Output("logits", OnnxElementType.Double, -1, 3)
            .Node("Cast", ["x"], ["logits"], OnnxAttribute.Int("to", (long)OnnxElementType.Double)));

        AddModel(repository, Wide, Postprocess("scores", softmax: false, topK: 100), null, Identity(Wide, WideClasses));

        AddModel(repository, Plain, null, null, Identity(Plain, 2));

        AddModel(repository, Broken, new { output = "", top_k = 0, softmx = true }, null, Identity(Broken, 2));

        Folders.Copy(RepositoryPaths.InRoot("models", Mnist), Path.Combine(repository, Mnist));
        return repository;
    }

    private static object Postprocess(string output, bool softmax, int topK) => new { output, softmax, top_k = topK };

    private static OnnxGraphBuilder Identity(string name, int classes) => new OnnxGraphBuilder(name)
        .Input("x", OnnxElementType.Float, -1, classes)
        .Output("scores", OnnxElementType.Float, -1, classes)
        .Node("Identity", ["x"], ["scores"]);

    private static void AddModel(string repository, string name, object? postprocess, string[]? labels, OnnxGraphBuilder graph)
    {
        var directory = Path.Combine(repository, name);
        Directory.CreateDirectory(directory);
        var config = postprocess is null
            ? (object)new { name, max_batch_size = 8 }
            : new { name, max_batch_size = 8, postprocess };
        File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(config));
        if (labels is not null)
        {
            File.WriteAllLines(Path.Combine(directory, "labels.txt"), labels);
        }

        graph.Save(Path.Combine(directory, 1.ToString(CultureInfo.InvariantCulture), "model.onnx"));
    }
}
