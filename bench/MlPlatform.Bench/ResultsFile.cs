using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>Writes one benchmark's section of bench/RESULTS.md, replacing the previous run's.</summary>
internal static class ResultsFile
{
    public static string Path => RepositoryPaths.InRoot("bench", "RESULTS.md");

    public static void WriteSection(string id, string title, string body)
    {
        var begin = $"<!-- begin {id} -->";
        var end = $"<!-- end {id} -->";
        var section = new StringBuilder()
            .AppendLine(begin)
            .AppendLine(CultureInfo.InvariantCulture, $"## {title}")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Machine()}.")
            .AppendLine()
            .AppendLine(body.TrimEnd())
            .Append(end)
            .ToString();

        var text = File.Exists(Path)
            ? File.ReadAllText(Path)
            : "# Benchmark results\n\nEach figure is a ratio against a reference measured in the same run, so a noisy machine moves both sides alike. Rerun with the command under each section.\n";
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        var stop = text.IndexOf(end, StringComparison.Ordinal);
        text = start >= 0 && stop > start
            ? string.Concat(text.AsSpan(0, start), section, text.AsSpan(stop + end.Length))
            : text.TrimEnd() + "\n\n" + section + "\n";
        File.WriteAllText(Path, text);
    }

    private static string Machine()
    {
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{Environment.ProcessorCount} cores, {memory:F0} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
