using System.Globalization;
using System.Text;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// The files of a model folder that decide what is served, by name, size and time of last write: two equal stamps
/// mean nothing to reload. Polling compares stamps, as Triton does, rather than watching the file system, whose
/// events are lost on network volumes and Kubernetes ConfigMaps.
/// </summary>
internal static class ModelFolderStamp
{
    public static string Read(string directory)
    {
        var stamp = new StringBuilder();
        Append(stamp, Path.Combine(directory, ModelRepositoryScanner.ConfigFileName));
        Append(stamp, Path.Combine(directory, ModelRepositoryScanner.LabelsFileName));
        if (Directory.Exists(directory))
        {
            foreach (var version in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
            {
                Append(stamp, Path.Combine(version, ModelRepositoryScanner.ModelFileName));
            }

            var warmUp = Path.Combine(directory, ModelWarmUp.FolderName);
            if (Directory.Exists(warmUp))
            {
                foreach (var file in Directory.EnumerateFiles(warmUp, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    Append(stamp, file);
                }
            }
        }

        return stamp.ToString();
    }

    /// <summary>The stamp of one file; empty when it does not exist.</summary>
    public static string OfFile(string path)
    {
        var file = new FileInfo(path);
        return file.Exists
            ? string.Create(CultureInfo.InvariantCulture, $"{file.Length}@{file.LastWriteTimeUtc.Ticks}")
            : "";
    }

    private static void Append(StringBuilder stamp, string path) =>
        stamp.Append(path).Append('=').Append(OfFile(path)).Append(';');
}
