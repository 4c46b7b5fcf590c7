using System.Globalization;
using System.Text;
using MlPlatform.OnnxWriter;

namespace MlPlatform.Bench;

/// <summary>
/// An ImageNet-sized classifier laid out as MobileNet v1 at width 0.75: a stride-2 3x3 stem, 13 depthwise-separable
/// blocks (3x3 depthwise then 1x1 pointwise convolution, each with ReLU), global average pooling and a 1000-way
/// dense layer, on a 3x224x224 input. About 325 M multiply-adds an image, MobileNet v2's 300 M or a little more, so
/// the platform's cost is weighed against the work of a model people serve, not a toy's. No batch normalisation:
/// ONNX Runtime folds it into the convolutions of an exported model, so it would cost nothing at run time anyway.
/// Random weights from a fixed seed: the figures measure the work, not the answers. Generated at run time with the
/// repository's ONNX writer, never committed.
/// </summary>
internal static class ImageClassifierModel
{
    public const string Name = "classifier224";
    public const string Input = "input";
    public const string Output = "logits";
    public const int Side = 224;
    public const int Channels = 3;
    public const int Classes = 1000;
    public const int MaxBatchSize = 16;

    /// <summary>
    /// The batches the batcher aims for, mnist's. Stopping at 4, where this model's image is cheapest on its own
    /// (<c>realistic-model</c> measures each size), measured no better: 0.67x against 0.69x with these.
    /// </summary>
    public static readonly int[] PreferredBatchSizes = [4, 8, 16];

    /// <summary>
    /// One ONNX Runtime thread a session: the application runs two inference replicas on two cores, each computing
    /// one batch at a time, so one thread each fills the machine, and pools of two would spin against each other.
    /// </summary>
    public const int IntraOpThreads = 1;

    /// <summary>The shorter side images are resized to before the centre crop, as torchvision's ImageNet evaluation does.</summary>
    public const int ResizeShorterSide = 256;

    public const float PixelScale = 1f / 255;

    private const int StemChannels = 24;

    /// <summary>The ImageNet mean and standard deviation per channel (RGB) of pixels scaled to 0..1.</summary>
    public static ReadOnlySpan<float> Mean => [0.485f, 0.456f, 0.406f];

    public static ReadOnlySpan<float> Std => [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// The preprocess section as a user of an ImageNet model writes it. resize_shorter, center_crop and channel_order
    /// come with the preprocessing steps of the same name; a platform without them refuses the section.
    /// </summary>
    private const string PreprocessSection = """
        "preprocess": { "input": "input", "datatype": "FP32", "layout": "NCHW", "width": 224, "height": 224, "channels": 3, "channel_order": "RGB",
          "steps": [ { "op": "decode" }, { "op": "resize_shorter", "size": 256 }, { "op": "center_crop", "width": 224, "height": 224 },
                     { "op": "normalize", "scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] } ] }
        """;

    // MobileNet v1's blocks at width 0.75: the pointwise convolution's output channels and the depthwise one's stride.
    private static readonly (int Channels, int Stride)[] Blocks =
    [
        (48, 1), (96, 2), (96, 1), (192, 2), (192, 1), (384, 2),
        (384, 1), (384, 1), (384, 1), (384, 1), (384, 1),
        (768, 2), (768, 1),
    ];

    private static readonly ConvLayer[] ConvLayers = CreateConvLayers();

    private static int FeatureChannels => ConvLayers[^1].OutputChannels;

    public static int ItemFloats => Channels * Side * Side;

    public static long[] Shape(int items) => [items, Channels, Side, Side];

    /// <summary>Multiply-adds of one image: every convolution and the dense layer; pooling's 37,632 additions and the ReLUs are left out.</summary>
    public static long MultiplyAddsPerImage
    {
        get
        {
            long total = (long)FeatureChannels * Classes;
            foreach (var layer in ConvLayers)
            {
                total += layer.MultiplyAdds;
            }

            return total;
        }
    }

    public static long Parameters
    {
        get
        {
            long total = ((long)FeatureChannels * Classes) + Classes;
            foreach (var layer in ConvLayers)
            {
                total += layer.Parameters;
            }

            return total;
        }
    }

    public static string Describe()
    {
        long depthwise = 0;
        long pointwise = 0;
        foreach (var layer in ConvLayers)
        {
            if (layer.Groups > 1)
            {
                depthwise += layer.MultiplyAdds;
            }
            else if (layer.Kernel == 1)
            {
                pointwise += layer.MultiplyAdds;
            }
        }

        var stem = ConvLayers[0].MultiplyAdds;
        var dense = (long)FeatureChannels * Classes;
        return string.Create(CultureInfo.InvariantCulture, $"`{Name}`, MobileNet v1's layout at width 0.75 without batch normalisation: 3x{Side}x{Side} FP32 input, a 3x3 stride-2 stem of {StemChannels} channels, {Blocks.Length} depthwise-separable blocks to {FeatureChannels} channels at 7x7, global average pooling, a {FeatureChannels}x{Classes} Gemm to `{Output}`; {Parameters / 1e6:F2} M parameters, random weights. Per image {MultiplyAddsPerImage / 1e6:F1} M multiply-adds = {2 * MultiplyAddsPerImage / 1e6:F0} MFLOPs (stem {stem / 1e6:F1} M, depthwise {depthwise / 1e6:F1} M, pointwise {pointwise / 1e6:F1} M, dense {dense / 1e6:F2} M; MobileNet v2 is 300 M multiply-adds, MobileNet v1 569 M)");
    }

    /// <summary>The model's config.json: dynamic batching as mnist's, the ImageNet preprocessing, softmax and top 5 of the logits.</summary>
    public static string Config() => string.Create(CultureInfo.InvariantCulture, $$"""
        { "name": "{{Name}}", "platform": "onnxruntime_onnx", "max_batch_size": {{MaxBatchSize}},
          "dynamic_batching": { "preferred_batch_size": [{{string.Join(", ", PreferredBatchSizes)}}], "max_queue_delay_microseconds": 2000, "max_queue_size": 1024 },
          "onnxruntime": { "intra_op_threads": {{IntraOpThreads}}, "inter_op_threads": 1, "graph_optimization_level": "all" },
          {{PreprocessSection}},
          "postprocess": { "output": "{{Output}}", "softmax": true, "top_k": 5 } }
        """);

    public static string Label(int index) => string.Create(CultureInfo.InvariantCulture, $"class_{index:D4}");

    /// <summary>Writes the model as version 1 under <paramref name="repository"/> with its config and 1000 labels; returns the model file's path.</summary>
    public static string Write(string repository)
    {
        var directory = Path.Combine(repository, Name);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), Config());
        var labels = new StringBuilder();
        for (var i = 0; i < Classes; i++)
        {
            labels.Append(Label(i)).Append('\n');
        }

        File.WriteAllText(Path.Combine(directory, "labels.txt"), labels.ToString());
        var modelPath = Path.Combine(directory, "1", "model.onnx");
        Build().Save(modelPath);
        return modelPath;
    }

    private static ConvLayer[] CreateConvLayers()
    {
        // A 3x3 convolution padded by 1 with stride 2 halves an even side: 224, 112, 56, 28, 14, 7.
        var side = Side / 2;
        var layers = new List<ConvLayer> { new("stem", Channels, StemChannels, 3, 2, 1, side) };
        var channels = StemChannels;
        for (var i = 0; i < Blocks.Length; i++)
        {
            var (outputs, stride) = Blocks[i];
            side /= stride;
            layers.Add(new ConvLayer($"block{i}.depthwise", channels, channels, 3, stride, channels, side));
            layers.Add(new ConvLayer($"block{i}.pointwise", channels, outputs, 1, 1, 1, side));
            channels = outputs;
        }

        return [.. layers];
    }

    private static OnnxGraphBuilder Build()
    {
        var random = new Random(2026);

        // He initialisation (uniform of variance 2 / fan-in) keeps activations at one scale through 27 ReLU layers,
        // so the logits neither vanish nor overflow.
        float[] Weights(int count, int fanIn)
        {
            var limit = MathF.Sqrt(6f / fanIn);
            var values = new float[count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 2) - 1) * limit;
            }

            return values;
        }

        var graph = new OnnxGraphBuilder(Name)
            .Input(Input, OnnxElementType.Float, -1, Channels, Side, Side)
            .Output(Output, OnnxElementType.Float, -1, Classes);
        var previous = Input;
        foreach (var layer in ConvLayers)
        {
            var fanIn = layer.InputChannels / layer.Groups * layer.Kernel * layer.Kernel;
            var padding = layer.Kernel / 2;
            graph.Initializer($"{layer.Name}.w", [layer.OutputChannels, layer.InputChannels / layer.Groups, layer.Kernel, layer.Kernel], Weights(layer.OutputChannels * fanIn, fanIn))
                .Initializer($"{layer.Name}.b", [layer.OutputChannels], new float[layer.OutputChannels])
                .Node(
                    "Conv",
                    [previous, $"{layer.Name}.w", $"{layer.Name}.b"],
                    [layer.Name],
                    OnnxAttribute.Ints("kernel_shape", layer.Kernel, layer.Kernel),
                    OnnxAttribute.Ints("strides", layer.Stride, layer.Stride),
                    OnnxAttribute.Ints("pads", padding, padding, padding, padding),
                    OnnxAttribute.Int("group", layer.Groups))
                .Node("Relu", [layer.Name], [$"{layer.Name}.relu"]);
            previous = $"{layer.Name}.relu";
        }

        return graph
            .Initializer("classifier.w", [Classes, FeatureChannels], Weights(Classes * FeatureChannels, FeatureChannels))
            .Initializer("classifier.b", [Classes], new float[Classes])
            .Node("GlobalAveragePool", [previous], ["pooled"])
            .Node("Flatten", ["pooled"], ["features"], OnnxAttribute.Int("axis", 1))
            .Node("Gemm", ["features", "classifier.w", "classifier.b"], [Output], OnnxAttribute.Int("transB", 1));
    }

    /// <param name="Groups">1 for a full convolution, the channel count for a depthwise one.</param>
    /// <param name="OutputSide">The output's width and height.</param>
    private sealed record ConvLayer(string Name, int InputChannels, int OutputChannels, int Kernel, int Stride, int Groups, int OutputSide)
    {
        public long MultiplyAdds => (long)OutputSide * OutputSide * OutputChannels * (InputChannels / Groups) * Kernel * Kernel;

        public long Parameters => ((long)OutputChannels * (InputChannels / Groups) * Kernel * Kernel) + OutputChannels;
    }
}
