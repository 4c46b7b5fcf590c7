namespace MlPlatform.MnistTrainer;

/// <summary>The network's own forward pass over a set of digits, as the reference for the ONNX model.</summary>
internal static class Evaluator
{
    public static double Accuracy(float[] parameters, IReadOnlyList<Sample> samples, Normalization normalization) =>
        Accuracy(Predict(parameters, samples, normalization), samples);

    public static int[] Predict(float[] parameters, IReadOnlyList<Sample> samples, Normalization normalization) =>
        Predictions(Probabilities(parameters, samples, normalization), samples.Count);

    /// <summary>Class probabilities, <see cref="ConvNet.Classes"/> per digit.</summary>
    public static float[] Probabilities(float[] parameters, IReadOnlyList<Sample> samples, Normalization normalization)
    {
        var probabilities = new float[samples.Count * ConvNet.Classes];
        // Each digit is independent, so the thread split cannot change any prediction.
        Parallel.For(0, Trainer.Shards, shard =>
        {
            var workspace = new ConvNet.Workspace();
            var image = new float[ConvNet.ImageSize * ConvNet.ImageSize];
            for (var i = shard; i < samples.Count; i += Trainer.Shards)
            {
                normalization.ApplyTo(samples[i].Pixels, image);
                ConvNet.Forward(parameters, image, workspace);
                workspace.Probabilities.CopyTo(probabilities, i * ConvNet.Classes);
            }
        });
        return probabilities;
    }

    public static int[] Predictions(ReadOnlySpan<float> probabilities, int count)
    {
        var predictions = new int[count];
        for (var i = 0; i < count; i++)
        {
            predictions[i] = ConvNet.ArgMax(probabilities.Slice(i * ConvNet.Classes, ConvNet.Classes));
        }

        return predictions;
    }

    /// <summary>Mean negative log-probability of the true class.</summary>
    public static double CrossEntropy(ReadOnlySpan<float> probabilities, IReadOnlyList<Sample> samples)
    {
        double loss = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            loss -= Math.Log(Math.Max(probabilities[(i * ConvNet.Classes) + samples[i].Label], 1e-12f));
        }

        return loss / samples.Count;
    }

    public static double Accuracy(int[] predictions, IReadOnlyList<Sample> samples)
    {
        var correct = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            if (predictions[i] == samples[i].Label)
            {
                correct++;
            }
        }

        return (double)correct / samples.Count;
    }
}
