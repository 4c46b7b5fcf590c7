namespace MlPlatform.MnistTrainer;

/// <summary>One digit: 784 pixels in 0..1 (1 = ink), row-major, and its class.</summary>
internal sealed record Sample(float[] Pixels, int Label);

/// <summary>
/// Stratified split: within each class, digits are shuffled with the seed, the first
/// <see cref="HoldoutFraction"/> become the held-out test set, and a further
/// <see cref="ValidationFraction"/> of the rest picks the best epoch. The held-out digits are
/// never seen by training or model selection.
/// </summary>
internal sealed class DataSplit
{
    public const double HoldoutFraction = 0.15;
    public const double ValidationFraction = 0.10;

    private DataSplit(List<Sample> train, List<Sample> validation, List<Sample>[] holdoutByClass)
    {
        Train = train;
        Validation = validation;
        HoldoutByClass = holdoutByClass;
        Holdout = [.. holdoutByClass.SelectMany(samples => samples)];
    }

    public IReadOnlyList<Sample> Train { get; }

    public IReadOnlyList<Sample> Validation { get; }

    public IReadOnlyList<Sample> Holdout { get; }

    public IReadOnlyList<List<Sample>> HoldoutByClass { get; }

    public static DataSplit Create(float[][][] imagesByClass, DeterministicRandom random)
    {
        var train = new List<Sample>();
        var validation = new List<Sample>();
        var holdout = new List<Sample>[imagesByClass.Length];
        for (var label = 0; label < imagesByClass.Length; label++)
        {
            var images = (float[][])imagesByClass[label].Clone();
            random.Shuffle(images.AsSpan());
            var holdoutCount = (int)Math.Round(images.Length * HoldoutFraction, MidpointRounding.AwayFromZero);
            var validationCount = (int)Math.Round((images.Length - holdoutCount) * ValidationFraction, MidpointRounding.AwayFromZero);

            holdout[label] = [];
            for (var i = 0; i < images.Length; i++)
            {
                var sample = new Sample(images[i], label);
                if (i < holdoutCount)
                {
                    holdout[label].Add(sample);
                }
                else if (i < holdoutCount + validationCount)
                {
                    validation.Add(sample);
                }
                else
                {
                    train.Add(sample);
                }
            }
        }

        return new DataSplit(train, validation, holdout);
    }

    /// <summary>
    /// At most <paramref name="maxCount"/> held-out digits with the held-out class proportions
    /// (largest-remainder rounding), in a seeded random order so any prefix mixes the classes.
    /// </summary>
    public List<Sample> StratifiedHoldoutSample(int maxCount, DeterministicRandom random)
    {
        var total = Holdout.Count;
        var take = Math.Min(maxCount, total);
        var quotas = new int[HoldoutByClass.Count];
        var remainders = new double[HoldoutByClass.Count];
        var assigned = 0;
        for (var c = 0; c < quotas.Length; c++)
        {
            var exact = (double)take * HoldoutByClass[c].Count / total;
            quotas[c] = (int)Math.Floor(exact);
            remainders[c] = exact - quotas[c];
            assigned += quotas[c];
        }

        // Hand out what flooring left over, largest remainder first, lower class on ties.
        var order = Enumerable.Range(0, quotas.Length).OrderByDescending(c => remainders[c]).ThenBy(c => c).ToArray();
        for (var i = 0; assigned < take; i++, assigned++)
        {
            quotas[order[i % order.Length]]++;
        }

        var sample = new List<Sample>(take);
        for (var c = 0; c < quotas.Length; c++)
        {
            sample.AddRange(HoldoutByClass[c].Take(quotas[c]));
        }

        var shuffled = sample.ToArray();
        random.Shuffle(shuffled.AsSpan());
        return [.. shuffled];
    }
}
