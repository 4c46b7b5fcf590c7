using System.Text.Json;
using MlPlatform.OnnxWriter;

namespace MlPlatform.Inference.Tests;

/// <summary>Builds throwaway model repositories with the repo's ONNX writer, so each test model is made, not committed.</summary>
internal static class TestModels
{
    public static string CreateRepository() =>
        Directory.CreateTempSubdirectory("mlplatform-models-").FullName;

    public static void AddModel(string repository, string name, object config, params (int Version, OnnxGraphBuilder Graph)[] versions)
    {
        var directory = Path.Combine(repository, name);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), config as string ?? JsonSerializer.Serialize(config));
        foreach (var (version, graph) in versions)
        {
            graph.Save(Path.Combine(directory, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx"));
        }
    }

    /// <summary>Two inputs with every dimension dynamic, two outputs.</summary>
    public static OnnxGraphBuilder Pair() => new OnnxGraphBuilder("pair")
        .Input("a", OnnxElementType.Float, -1, -1)
        .Input("b", OnnxElementType.Float, -1, -1)
        .Output("sum", OnnxElementType.Float, -1, -1)
        .Output("product", OnnxElementType.Float, -1, -1)
        .Node("Add", ["a", "b"], ["sum"])
        .Node("Mul", ["a", "b"], ["product"]);

    /// <summary>An int64 scalar, an FP16 vector and a string vector, each echoed back.</summary>
    public static OnnxGraphBuilder Types() => new OnnxGraphBuilder("types")
        .Input("count", OnnxElementType.Int64)
        .Input("half", OnnxElementType.Float16, -1)
        .Input("text", OnnxElementType.String, -1)
        .Output("count_out", OnnxElementType.Int64)
        .Output("half_out", OnnxElementType.Float16, -1)
        .Output("half_as_float", OnnxElementType.Float, -1)
        .Output("text_out", OnnxElementType.String, -1)
        .Node("Identity", ["count"], ["count_out"])
        .Node("Identity", ["half"], ["half_out"])
        .Node("Cast", ["half"], ["half_as_float"], OnnxAttribute.Int("to", 1))
        .Node("Identity", ["text"], ["text_out"]);

    /// <summary>The element types the echo model takes, by input name: every protocol datatype but FP16, which <see cref="Types"/> has.</summary>
    public static readonly (string Name, OnnxElementType Type)[] EchoInputs =
    [
        ("bool", OnnxElementType.Bool),
        ("uint8", OnnxElementType.UInt8),
        ("uint16", OnnxElementType.UInt16),
        ("uint32", OnnxElementType.UInt32),
        ("uint64", OnnxElementType.UInt64),
        ("int8", OnnxElementType.Int8),
        ("int16", OnnxElementType.Int16),
        ("int32", OnnxElementType.Int32),
        ("int64", OnnxElementType.Int64),
        ("fp32", OnnxElementType.Float),
        ("fp64", OnnxElementType.Double),
        ("bytes", OnnxElementType.String),
    ];

    /// <summary>A vector of each type in <see cref="EchoInputs"/>, each echoed back as <c>{name}_out</c>.</summary>
    public static OnnxGraphBuilder Echo()
    {
        var graph = new OnnxGraphBuilder("echo");
        foreach (var (name, type) in EchoInputs)
        {
            graph.Input(name, type, -1).Output($"{name}_out", type, -1).Node("Identity", [name], [$"{name}_out"]);
        }

        return graph;
    }

    /// <summary>x + version, so a response shows which version ran.</summary>
    public static OnnxGraphBuilder AddConstant(float constant) => new OnnxGraphBuilder("offset")
        .Input("x", OnnxElementType.Float, -1, 2)
        .Output("y", OnnxElementType.Float, -1, 2)
        .Initializer("c", [1], [constant])
        .Node("Add", ["x", "c"], ["y"]);

    /// <summary>The value at each index of a table of four, [10, 20, 30, 40]: an index past the end fails the run, not the validation.</summary>
    public static OnnxGraphBuilder Lookup() => new OnnxGraphBuilder("lookup")
        .Input("index", OnnxElementType.Int64, -1)
        .Output("value", OnnxElementType.Float, -1)
        .Initializer("table", [4], [10f, 20, 30, 40])
        .Node("Gather", ["table", "index"], ["value"]);

    /// <summary>Eight 256x256 matrix products per item: slow enough on one thread to fill a queue.</summary>
    public static OnnxGraphBuilder Slow()
    {
        var graph = new OnnxGraphBuilder("slow")
            .Input("x", OnnxElementType.Float, -1, 256, 256)
            .Output("y", OnnxElementType.Float, -1, 256, 256);
        var previous = "x";
        for (var i = 0; i < 8; i++)
        {
            var next = i == 7 ? "y" : $"m{i}";
            graph.Node("MatMul", [previous, "x"], [next]);
            previous = next;
        }

        return graph;
    }
}
