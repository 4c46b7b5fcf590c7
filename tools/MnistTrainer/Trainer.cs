using System.Diagnostics;

namespace MlPlatform.MnistTrainer;

internal sealed record TrainingOptions(
    int Epochs,
    int BatchSize,
    float LearningRate,
    float FinalLearningRate,
    int MaxShift,
    float MaxRotationDegrees,
    float MaxScaleChange);

internal sealed record EpochReport(int Epoch, double TrainLoss, double ValidationLoss, double ValidationAccuracy, TimeSpan Elapsed);

/// <summary>
/// Mini-batch Adam with a cosine learning-rate schedule; every epoch each digit gets a fresh random shift, rotation and scale.
/// Each batch is split into a fixed number of shards whose gradients are summed in shard order, so the result
/// does not depend on how many threads actually run.
/// </summary>
internal sealed class Trainer
{
    public const int Shards = 2;

    private const float Beta1 = 0.9f;
    private const float Beta2 = 0.999f;
    private const float Epsilon = 1e-8f;

    private readonly TrainingOptions _options;
    private readonly Normalization _normalization;
    private readonly DeterministicRandom _random;
    private readonly float[][] _shardGradients;
    private readonly ConvNet.Workspace[] _workspaces;
    private readonly float[][] _images;
    private readonly double[] _shardLoss = new double[Shards];
    private readonly float[] _firstMoment = new float[ConvNet.ParameterCount];
    private readonly float[] _secondMoment = new float[ConvNet.ParameterCount];
    private long _step;

    public Trainer(TrainingOptions options, Normalization normalization, DeterministicRandom random)
    {
        _options = options;
        _normalization = normalization;
        _random = random;
        _shardGradients = new float[Shards][];
        _workspaces = new ConvNet.Workspace[Shards];
        _images = new float[Shards][];
        for (var s = 0; s < Shards; s++)
        {
            _shardGradients[s] = new float[ConvNet.ParameterCount];
            _workspaces[s] = new ConvNet.Workspace();
            _images[s] = new float[ConvNet.ImageSize * ConvNet.ImageSize];
        }
    }

    /// <summary>Trains from <paramref name="parameters"/> and returns the parameters of the epoch with the lowest validation loss.</summary>
    public float[] Train(float[] parameters, IReadOnlyList<Sample> train, IReadOnlyList<Sample> validation, Action<EpochReport> report)
    {
        var best = (float[])parameters.Clone();
        var bestLoss = double.PositiveInfinity;
        var order = new int[train.Count];
        var transforms = new Transform[train.Count];
        var batchesPerEpoch = (train.Count + _options.BatchSize - 1) / _options.BatchSize;
        var totalSteps = (long)batchesPerEpoch * _options.Epochs;
        var clock = Stopwatch.StartNew();

        for (var epoch = 1; epoch <= _options.Epochs; epoch++)
        {
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            // All randomness is drawn here, on one thread, before the parallel part.
            _random.Shuffle(order.AsSpan());
            for (var i = 0; i < transforms.Length; i++)
            {
                transforms[i] = NextTransform();
            }

            double epochLoss = 0;
            for (var start = 0; start < order.Length; start += _options.BatchSize)
            {
                var count = Math.Min(_options.BatchSize, order.Length - start);
                epochLoss += TrainBatch(parameters, train, order, transforms, start, count);
                Step(parameters, totalSteps);
            }

            var probabilities = Evaluator.Probabilities(parameters, validation, _normalization);
            var validationLoss = Evaluator.CrossEntropy(probabilities, validation);
            var accuracy = Evaluator.Accuracy(Evaluator.Predictions(probabilities, validation.Count), validation);
            report(new EpochReport(epoch, epochLoss / order.Length, validationLoss, accuracy, clock.Elapsed));

            // Loss rather than accuracy: with under a thousand validation digits, accuracy moves in
            // steps of a single digit and would pick epochs by chance. "<=" prefers the later epoch on ties.
            if (validationLoss <= bestLoss)
            {
                bestLoss = validationLoss;
                Array.Copy(parameters, best, parameters.Length);
            }
        }

        return best;
    }

    private double TrainBatch(float[] parameters, IReadOnlyList<Sample> train, int[] order, Transform[] transforms, int start, int count)
    {
        var scale = 1f / count;
        Parallel.For(0, Shards, shard =>
        {
            // Fixed contiguous slices of the batch per shard.
            var from = start + (count * shard / Shards);
            var to = start + (count * (shard + 1) / Shards);
            var gradient = _shardGradients[shard];
            var workspace = _workspaces[shard];
            var image = _images[shard];
            double loss = 0;
            for (var i = from; i < to; i++)
            {
                var sample = train[order[i]];
                var t = transforms[order[i]];
                _normalization.ApplyTransformed(sample.Pixels, t.Radians, t.Scale, t.Dx, t.Dy, image);
                ConvNet.Forward(parameters, image, workspace);
                loss -= Math.Log(Math.Max(workspace.Probabilities[sample.Label], 1e-12f));
                ConvNet.Backward(parameters, workspace, sample.Label, scale, gradient);
            }

            _shardLoss[shard] = loss;
        });

        for (var s = 1; s < Shards; s++)
        {
            VectorMath.Add(_shardGradients[s], _shardGradients[0]);
        }

        var total = 0.0;
        foreach (var loss in _shardLoss)
        {
            total += loss;
        }

        return total;
    }

    private Transform NextTransform()
    {
        var span = (2 * _options.MaxShift) + 1;
        var dx = _random.NextInt(span) - _options.MaxShift;
        var dy = _random.NextInt(span) - _options.MaxShift;
        var degrees = ((2 * _random.NextDouble()) - 1) * _options.MaxRotationDegrees;
        var scale = 1 + (((2 * _random.NextDouble()) - 1) * _options.MaxScaleChange);
        return new Transform((float)(degrees * Math.PI / 180), (float)scale, dx, dy);
    }

    private void Step(float[] parameters, long totalSteps)
    {
        _step++;
        var progress = (double)(_step - 1) / totalSteps;
        var learningRate = _options.FinalLearningRate
            + (0.5 * (_options.LearningRate - _options.FinalLearningRate) * (1 + Math.Cos(Math.PI * progress)));
        // Adam's bias correction folded into the step size.
        var stepSize = (float)(learningRate * Math.Sqrt(1 - Math.Pow(Beta2, _step)) / (1 - Math.Pow(Beta1, _step)));

        var gradient = _shardGradients[0];
        for (var i = 0; i < parameters.Length; i++)
        {
            var g = gradient[i];
            _firstMoment[i] = (Beta1 * _firstMoment[i]) + ((1 - Beta1) * g);
            _secondMoment[i] = (Beta2 * _secondMoment[i]) + ((1 - Beta2) * g * g);
            parameters[i] -= stepSize * _firstMoment[i] / (MathF.Sqrt(_secondMoment[i]) + Epsilon);
        }

        foreach (var shard in _shardGradients)
        {
            Array.Clear(shard);
        }
    }

    private readonly record struct Transform(float Radians, float Scale, float Dx, float Dy);
}
