namespace MlPlatform.TestSupport;

/// <summary>One committed held-out digit: its label and 784 pixels, 0..1 with 1 = ink.</summary>
public sealed record HoldOutDigit(int Label, float[] Pixels);

/// <summary>
/// The held-out digits committed with the model (<c>tests/Data/mnist-holdout.bin</c>): records of a
/// label byte and 784 pixel bytes, 255 = ink. Never used in training.
/// </summary>
public static class HoldOutDigits
{
    public const int RecordLength = 1 + (28 * 28);

    private static readonly Lazy<IReadOnlyList<HoldOutDigit>> Digits = new(() =>
    {
        var bytes = File.ReadAllBytes(RepositoryPaths.InRoot("tests", "Data", "mnist-holdout.bin"));
        var digits = new List<HoldOutDigit>(bytes.Length / RecordLength);
        for (var offset = 0; offset + RecordLength <= bytes.Length; offset += RecordLength)
        {
            var pixels = new float[28 * 28];
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = bytes[offset + 1 + i] / 255f;
            }

            digits.Add(new HoldOutDigit(bytes[offset], pixels));
        }

        return digits;
    });

    public static IReadOnlyList<HoldOutDigit> Load() => Digits.Value;

    /// <summary>The first held-out digit with this label.</summary>
    public static HoldOutDigit First(int label) => Load().First(digit => digit.Label == label);
}
