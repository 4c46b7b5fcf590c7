using System.Globalization;

namespace MlPlatform.Bench;

/// <summary>A process's memory as Linux reports it in /proc/&lt;pid&gt;/status.</summary>
internal static class ProcStatus
{
    /// <summary>Resident set size now (VmRSS), in MB.</summary>
    public static double ResidentMegabytes(int pid) => StatusKilobytes(pid, "VmRSS") / 1024.0;

    /// <summary>The highest resident set size so far (VmHWM), in MB.</summary>
    public static double PeakResidentMegabytes(int pid) => StatusKilobytes(pid, "VmHWM") / 1024.0;

    /// <summary>
    /// Proportional set size (Pss in smaps_rollup), in MB: resident pages, each shared page divided among the
    /// processes that map it, so two replicas of one service do not both count the runtime's files in full.
    /// </summary>
    public static double ProportionalMegabytes(int pid) => Kilobytes($"/proc/{pid}/smaps_rollup", "Pss") / 1024.0;

    private static long StatusKilobytes(int pid, string field) => Kilobytes($"/proc/{pid}/status", field);

    private static long Kilobytes(string path, string field)
    {
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"{path} has no {field}");
    }
}
