using MlPlatform.OnnxWriter;
using Microsoft.ML.OnnxRuntime;

namespace MlPlatform.MnistTrainer;

/// <summary>The exported graph, and scoring it with ONNX Runtime to check the export against the C# network.</summary>
internal static class MnistOnnxModel
{
    public const string InputName = "input";
    public const string OutputName = "probabilities";
    public const int Opset = 13;

    private const int BatchSize = 256;

    public static OnnxGraphBuilder Build(float[] parameters, Normalization normalization)
    {
        var p = parameters.AsSpan();
        return new OnnxGraphBuilder("mnist_cnn")
            .Input(InputName, OnnxElementType.Float, -1, 1, ConvNet.ImageSize, ConvNet.ImageSize)
            .Output(OutputName, OnnxElementType.Float, -1, ConvNet.Classes)
            .Initializer("pixel_mean", [], [normalization.Mean])
            .Initializer("pixel_std", [], [normalization.Std])
            .Initializer("conv1_w", [ConvNet.Conv1Channels, 1, ConvNet.Kernel, ConvNet.Kernel], p.Slice(ConvNet.Conv1WeightOffset, ConvNet.Conv1WeightLength))
            .Initializer("conv1_b", [ConvNet.Conv1Channels], p.Slice(ConvNet.Conv1BiasOffset, ConvNet.Conv1Channels))
            .Initializer("conv2_w", [ConvNet.Conv2Channels, ConvNet.Conv1Channels, ConvNet.Kernel, ConvNet.Kernel], p.Slice(ConvNet.Conv2WeightOffset, ConvNet.Conv2WeightLength))
            .Initializer("conv2_b", [ConvNet.Conv2Channels], p.Slice(ConvNet.Conv2BiasOffset, ConvNet.Conv2Channels))
            .Initializer("dense_w", [ConvNet.Classes, ConvNet.Features], p.Slice(ConvNet.DenseWeightOffset, ConvNet.DenseWeightLength))
            .Initializer("dense_b", [ConvNet.Classes], p.Slice(ConvNet.DenseBiasOffset, ConvNet.Classes))
            // Sub then Div, exactly as the C# network normalises, so clients send raw 0..1 pixels.
            .Node("Sub", [InputName, "pixel_mean"], ["centered"])
            .Node("Div", ["centered", "pixel_std"], ["normalized"])
            .Node("Conv", ["normalized", "conv1_w", "conv1_b"], ["conv1"], OnnxAttribute.Ints("kernel_shape", ConvNet.Kernel, ConvNet.Kernel))
            .Node("Relu", ["conv1"], ["relu1"])
            .Node("MaxPool", ["relu1"], ["pool1"], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2))
            .Node("Conv", ["pool1", "conv2_w", "conv2_b"], ["conv2"], OnnxAttribute.Ints("kernel_shape", ConvNet.Kernel, ConvNet.Kernel))
            .Node("Relu", ["conv2"], ["relu2"])
            .Node("MaxPool", ["relu2"], ["pool2"], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2))
            .Node("Flatten", ["pool2"], ["features"], OnnxAttribute.Int("axis", 1))
            .Node("Gemm", ["features", "dense_w", "dense_b"], ["logits"], OnnxAttribute.Int("transB", 1))
            .Node("Softmax", ["logits"], [OutputName], OnnxAttribute.Int("axis", 1));
    }

    /// <summary>Class probabilities from ONNX Runtime for raw 0..1 pixels, <see cref="ConvNet.Classes"/> per digit.</summary>
    public static float[] Probabilities(string modelPath, IReadOnlyList<Sample> samples)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(modelPath, options);
        using var runOptions = new RunOptions();
        var probabilities = new float[samples.Count * ConvNet.Classes];
        const int Pixels = ConvNet.ImageSize * ConvNet.ImageSize;
        for (var start = 0; start < samples.Count; start += BatchSize)
        {
            var count = Math.Min(BatchSize, samples.Count - start);
            var batch = new float[count * Pixels];
            for (var i = 0; i < count; i++)
            {
                samples[start + i].Pixels.CopyTo(batch, i * Pixels);
            }

            using var input = OrtValue.CreateTensorValueFromMemory(batch, [count, 1, ConvNet.ImageSize, ConvNet.ImageSize]);
            using var results = session.Run(runOptions, new Dictionary<string, OrtValue> { [InputName] = input }, [OutputName]);
            results[0].GetTensorDataAsSpan<float>().CopyTo(probabilities.AsSpan(start * ConvNet.Classes));
        }

        return probabilities;
    }
}
