using System.Text.RegularExpressions;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>
/// Each folder of the gateway is one namespace, and folders use one another in one direction only: a folder that a
/// lower one needed back could no longer be read, changed or moved on its own.
/// </summary>
public sealed partial class FolderDependencyTests
{
    private const string RootFiles = "(root)";

    [Fact]
    public void EveryFile_IsInTheNamespaceOfItsFolder()
    {
        var strays = Files()
            .Where(file => file.Folder != RootFiles && NamespaceOf(file.Text) != file.Folder)
            .Select(file => file.Path)
            .ToArray();

        Assert.Empty(strays);
    }

    [Fact]
    public void Folders_UseEachOtherWithoutACycle()
    {
        var uses = Uses();

        var cycle = FindCycle(uses);

        Assert.True(cycle is null, $"folders in a cycle: {string.Join(" -> ", cycle ?? [])}");
        // A graph the scan found edges in: a pattern that matched nothing would pass any tree.
        Assert.Contains("Routes", uses["Proxy"]);
    }

    /// <summary>Each folder and the other folders whose namespace its files name, in a using directive or in full.</summary>
    private static Dictionary<string, SortedSet<string>> Uses()
    {
        var uses = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var file in Files())
        {
            var used = uses.TryGetValue(file.Folder, out var set) ? set : uses[file.Folder] = new SortedSet<string>(StringComparer.Ordinal);
            foreach (Match match in GatewayNamespace().Matches(file.Text))
            {
                if (match.Groups["folder"].Value is var folder && folder != file.Folder)
                {
                    used.Add(folder);
                }
            }
        }

        foreach (var used in uses.Values.SelectMany(set => set).ToArray())
        {
            uses.TryAdd(used, new SortedSet<string>(StringComparer.Ordinal));
        }

        return uses;
    }

    private static List<string>? FindCycle(Dictionary<string, SortedSet<string>> uses)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();

        List<string>? Visit(string folder)
        {
            if (path.IndexOf(folder) is var at and >= 0)
            {
                return [.. path[at..], folder];
            }

            if (!done.Add(folder))
            {
                return null;
            }

            path.Add(folder);
            foreach (var used in uses[folder])
            {
                if (Visit(used) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            return null;
        }

        return uses.Keys.Order(StringComparer.Ordinal).Select(Visit).FirstOrDefault(cycle => cycle is not null);
    }

    private static IEnumerable<(string Path, string Folder, string Text)> Files()
    {
        var root = RepositoryPaths.InRoot("Gateway");
        foreach (var path in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, path);
            var parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts[0] is "bin" or "obj")
            {
                continue;
            }

            yield return (relative, parts.Length == 1 ? RootFiles : parts[0], File.ReadAllText(path));
        }
    }

    private static string? NamespaceOf(string text) => FileNamespace().Match(text) is { Success: true } match ? match.Groups["folder"].Value : null;

    [GeneratedRegex(@"\bMlPlatform\.Gateway\.(?<folder>\w+)")]
    private static partial Regex GatewayNamespace();

    [GeneratedRegex(@"^namespace MlPlatform\.Gateway\.(?<folder>\w+);", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();
}
