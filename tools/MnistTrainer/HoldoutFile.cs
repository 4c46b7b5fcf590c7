namespace MlPlatform.MnistTrainer;

/// <summary>
/// Held-out digits as bytes, for tests that need real inputs: each record is a label byte followed by
/// 784 pixel bytes, row-major, round(value * 255) with 255 = ink.
/// </summary>
internal static class HoldoutFile
{
    public const int RecordSize = 1 + (ConvNet.ImageSize * ConvNet.ImageSize);

    public static byte Quantize(float value) =>
        (byte)Math.Clamp(Math.Round(value * 255.0, MidpointRounding.AwayFromZero), 0, 255);

    /// <summary>The digits as a client would send them after reading the file: byte / 255.</summary>
    public static List<Sample> Quantized(IReadOnlyList<Sample> samples)
    {
        var quantized = new List<Sample>(samples.Count);
        foreach (var sample in samples)
        {
            var pixels = new float[sample.Pixels.Length];
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = Quantize(sample.Pixels[i]) / 255f;
            }

            quantized.Add(new Sample(pixels, sample.Label));
        }

        return quantized;
    }

    public static void Write(string path, IReadOnlyList<Sample> samples)
    {
        var bytes = new byte[samples.Count * RecordSize];
        for (var r = 0; r < samples.Count; r++)
        {
            var record = bytes.AsSpan(r * RecordSize, RecordSize);
            record[0] = (byte)samples[r].Label;
            for (var i = 0; i < samples[r].Pixels.Length; i++)
            {
                record[1 + i] = Quantize(samples[r].Pixels[i]);
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }
}
