using System.Globalization;
using MlPlatform.OnnxWriter;

namespace MlPlatform.Bench;

/// <summary>
/// Small convolutional classifiers in the shape of the classic image networks (VGG's, scaled down): 3x3
/// convolutions with 2x2 max pooling, then a dense head. Random weights from a fixed seed: the figures measure
/// the work, not the answers. Generated at run time with the repository's ONNX writer, never committed.
/// </summary>
/// <param name="Name">The model's name in the repository.</param>
/// <param name="Side">The input image's width and height (3 channels).</param>
/// <param name="ConvChannels">Output channels of each convolution; each is followed by ReLU and pooling.</param>
/// <param name="Dense">Width of the hidden dense layer before the 10 classes.</param>
internal sealed record ConvBenchModel(string Name, int Side, int[] ConvChannels, int Dense)
{
    public const string Input = "image";
    public const string Output = "logits";
    public const int Channels = 3;

    private const int Classes = 10;

    /// <summary>
    /// Two convolutions over 3x32x32, then a 4096x4096 dense layer: 64 MB of weights, twice this machine's L3
    /// cache, read from memory for every run. One item alone costs milliseconds, most of it that read, which a
    /// batch makes once for all its items: the case dynamic batching is for.
    /// </summary>
    public static ConvBenchModel DenseHead { get; } = new("convbench", 32, [32, 64], 4096);

    /// <summary>
    /// Three convolutions over 3x64x64 and a small dense head: nearly all the work is convolution, which ONNX
    /// Runtime computes image by image, so a batch saves little.
    /// </summary>
    public static ConvBenchModel ConvHeavy { get; } = new("convheavy", 64, [32, 64, 128], 256);

    public int ItemFloats => Channels * Side * Side;

    public long[] Shape(int items) => [items, Channels, Side, Side];

    private int Flat => ConvChannels[^1] * (Side >> ConvChannels.Length) * (Side >> ConvChannels.Length);

    /// <summary>The size of the dense head's first weight matrix in MB.</summary>
    public int DenseMegabytes => (int)((long)Flat * Dense * sizeof(float) / (1024 * 1024));

    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"`{Name}`: 3x{Side}x{Side} input, {ConvChannels.Length} 3x3 convolutions ({string.Join(", ", ConvChannels)} channels) each with 2x2 max pooling, dense {Flat}x{Dense} ({DenseMegabytes} MB) and {Dense}x{Classes}");

    /// <summary>Writes the model as version 1 under <paramref name="repository"/> with the given config body; returns the model file's path.</summary>
    public string Write(string repository, string configJson)
    {
        var directory = Path.Combine(repository, Name);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), configJson);
        var modelPath = Path.Combine(directory, "1", "model.onnx");
        Build().Save(modelPath);
        return modelPath;
    }

    /// <summary>
    /// The model's config.json on <paramref name="threads"/> ONNX Runtime threads: with the dynamic batcher,
    /// batches of up to 16; without, <c>max_batch_size</c> 0, so every request runs as it comes, alone (above 0
    /// the service merges whatever waits, even with no <c>dynamic_batching</c> section).
    /// </summary>
    public string Config(bool dynamicBatching, int threads)
    {
        var batching = dynamicBatching
            ? """ "max_batch_size": 16, "dynamic_batching": { "preferred_batch_size": [8, 16], "max_queue_delay_microseconds": 2000, "max_queue_size": 1024 },"""
            : """ "max_batch_size": 0,""";
        return string.Create(CultureInfo.InvariantCulture, $$"""
            { "name": "{{Name}}",{{batching}} "onnxruntime": { "intra_op_threads": {{threads}}, "inter_op_threads": 1, "graph_optimization_level": "all" } }
            """);
    }

    /// <summary>Image-like inputs for <paramref name="items"/> items.</summary>
    public float[] Inputs(int items)
    {
        var random = new Random(7);
        var values = new float[items * ItemFloats];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }

        return values;
    }

    private OnnxGraphBuilder Build()
    {
        var random = new Random(2026);
        float[] Weights(int count, int fanIn)
        {
            var scale = MathF.Sqrt(2f / fanIn);
            var values = new float[count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
            }

            return values;
        }

        var graph = new OnnxGraphBuilder(Name)
            .Input(Input, OnnxElementType.Float, -1, Channels, Side, Side)
            .Output(Output, OnnxElementType.Float, -1, Classes);
        var (previous, channels) = (Input, Channels);
        for (var i = 0; i < ConvChannels.Length; i++)
        {
            var outputs = ConvChannels[i];
            graph.Initializer($"conv{i}.w", [outputs, channels, 3, 3], Weights(outputs * channels * 9, channels * 9))
                .Initializer($"conv{i}.b", [outputs], new float[outputs])
                .Node("Conv", [previous, $"conv{i}.w", $"conv{i}.b"], [$"conv{i}"], OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1))
                .Node("Relu", [$"conv{i}"], [$"relu{i}"])
                .Node("MaxPool", [$"relu{i}"], [$"pool{i}"], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
            (previous, channels) = ($"pool{i}", outputs);
        }

        return graph
            .Initializer("flat.shape", [2], (ReadOnlySpan<long>)[-1, Flat])
            .Initializer("dense1.w", [Flat, Dense], Weights(Flat * Dense, Flat))
            .Initializer("dense1.b", [Dense], new float[Dense])
            .Initializer("dense2.w", [Dense, Classes], Weights(Dense * Classes, Dense))
            .Initializer("dense2.b", [Classes], new float[Classes])
            .Node("Reshape", [previous, "flat.shape"], ["flat"])
            .Node("MatMul", ["flat", "dense1.w"], ["dense1"])
            .Node("Add", ["dense1", "dense1.b"], ["dense1.biased"])
            .Node("Relu", ["dense1.biased"], ["hidden"])
            .Node("MatMul", ["hidden", "dense2.w"], ["dense2"])
            .Node("Add", ["dense2", "dense2.b"], [Output]);
    }
}
