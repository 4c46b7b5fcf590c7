using System.Globalization;
using System.Runtime.InteropServices;

namespace MlPlatform.Platform.Testing;

internal static partial class ProcessTree
{
    private const int SigKill = 9;

    /// <summary>The direct children of a process, from <c>/proc/{pid}/task/*/children</c>.</summary>
    public static IReadOnlyList<int> Children(int processId)
    {
        var children = new List<int>();
        var tasks = $"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/task";
        if (!Directory.Exists(tasks))
        {
            return children;
        }

        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    children.Add(int.Parse(child, CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
            }
        }

        return children;
    }

    public static void KillHard(int processId) => _ = Kill(processId, SigKill);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
