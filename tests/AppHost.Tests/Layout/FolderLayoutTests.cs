using System.Text.RegularExpressions;
using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests.Layout;

/// <summary>
/// Each project of the application is a house of rooms, one folder a feature in a namespace of its own, and no room
/// imports a neighbour that imports it back: then a feature can be found from the folder tree, and read, moved or
/// replaced from its folder alone. A folder uses another when one of its files names the other's namespace, in a
/// <c>using</c> directive or in full.
/// </summary>
public sealed partial class FolderLayoutTests
{
    public static TheoryData<string, string> Projects { get; } = new()
    {
        { "AppHost", "MlPlatform.AppHost" },
        { "Gateway", "MlPlatform.Gateway" },
        { "ServiceDefaults", "MlPlatform.ServiceDefaults" },
        { "Services/Contracts", "MlPlatform.Contracts" },
        { "Services/Inference", "MlPlatform.Inference" },
        { "Services/Preprocessing", "MlPlatform.Preprocessing" },
        { "Services/Postprocessing", "MlPlatform.Postprocessing" },
    };

    /// <summary>
    /// Namespaces extension methods are declared in so that they are found without a <c>using</c>, as Aspire's and
    /// the service defaults' own are; files in them belong to no room.
    /// </summary>
    private static readonly string[] ExtensionNamespaces = ["Aspire.Hosting", "Microsoft.Extensions.Hosting"];

    [Theory]
    [MemberData(nameof(Projects))]
    public void EveryFile_IsInTheNamespaceOfItsFolder(string project, string rootNamespace)
    {
        var strays = SourceFiles(project)
            .Where(file => file.Namespace is { } declared && !ExtensionNamespaces.Contains(declared) && declared != NamespaceOfFolder(rootNamespace, file.Folder))
            .Select(file => $"{file.Path} declares {file.Namespace}")
            .ToArray();

        Assert.Empty(strays);
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Folders_UseNoNeighbourThatUsesThemBack(string project, string rootNamespace)
    {
        var uses = FolderUses(SourceFiles(project), rootNamespace);

        var cycles = Cycles(uses);

        Assert.True(cycles.Count == 0, $"{project} has folder cycles: {string.Join("; ", cycles.Select(cycle => string.Join(" -> ", cycle)))}");
    }

    [Fact]
    public void FolderUses_OfTheGateway_AreFound()
    {
        // A scan that matched nothing would pass any tree.
        var uses = FolderUses(SourceFiles("Gateway"), "MlPlatform.Gateway");

        Assert.Contains("Routes", uses["Proxy"]);
        Assert.Contains("KeyAuth", uses["RateLimiting"]);
    }

    [Fact]
    public void Cycles_FolderUsingItsUser_IsFound()
    {
        var uses = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal)
        {
            ["Apis"] = ["Http", "Policies"],
            ["Http"] = [],
            ["Policies"] = ["Apis"],
        };

        var cycle = Assert.Single(Cycles(uses));

        Assert.Equal(["Apis", "Policies", "Apis"], cycle);
    }

    private sealed record SourceFile(string Path, string Folder, string? Namespace, string Text);

    private static SourceFile[] SourceFiles(string project)
    {
        var root = System.IO.Path.Combine(AppHostPaths.Root, project);
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(path => (Path: path, Relative: System.IO.Path.GetRelativePath(root, path).Replace('\\', '/')))
            .Where(file => !file.Relative.StartsWith("bin/", StringComparison.Ordinal) && !file.Relative.StartsWith("obj/", StringComparison.Ordinal))
            .Select(file =>
            {
                var text = File.ReadAllText(file.Path);
                var folder = System.IO.Path.GetDirectoryName(file.Relative) is { Length: > 0 } directory ? directory.Replace('\\', '/') : "";
                var declared = NamespaceDeclaration().Match(text);
                return new SourceFile(file.Relative, folder, declared.Success ? declared.Groups[1].Value : null, text);
            })
            .ToArray();
        Assert.NotEmpty(files);
        return files;
    }

    private static string NamespaceOfFolder(string rootNamespace, string folder) =>
        folder.Length == 0 ? rootNamespace : $"{rootNamespace}.{folder.Replace('/', '.')}";

    /// <summary>Each folder, and the other folders of the project whose namespace its files name.</summary>
    private static Dictionary<string, SortedSet<string>> FolderUses(SourceFile[] files, string rootNamespace)
    {
        var folderOfNamespace = files.Select(file => file.Folder).Distinct()
            .ToDictionary(folder => NamespaceOfFolder(rootNamespace, folder), StringComparer.Ordinal);
        var uses = files.Select(file => file.Folder).Distinct().ToDictionary(folder => folder, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (Match name in QualifiedName().Matches(file.Text))
            {
                // The longest namespace the name starts with: MlPlatform.Gateway.Proxy.ProxyOptions is in Proxy.
                for (var candidate = name.Value; candidate.Length > 0; candidate = candidate[..Math.Max(candidate.LastIndexOf('.'), 0)])
                {
                    if (folderOfNamespace.TryGetValue(candidate, out var used))
                    {
                        if (used != file.Folder && candidate != rootNamespace)
                        {
                            uses[file.Folder].Add(used);
                        }

                        break;
                    }
                }
            }
        }

        return uses;
    }

    private static List<List<string>> Cycles(Dictionary<string, SortedSet<string>> uses)
    {
        var cycles = new List<List<string>>();
        var finished = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        foreach (var folder in uses.Keys.Order(StringComparer.Ordinal))
        {
            Visit(folder);
        }

        return cycles;

        void Visit(string folder)
        {
            if (path.IndexOf(folder) is var at and >= 0)
            {
                cycles.Add([.. path[at..], folder]);
                return;
            }

            if (!finished.Add(folder))
            {
                return;
            }

            path.Add(folder);
            foreach (var used in uses.GetValueOrDefault(folder) ?? [])
            {
                Visit(used);
            }

            path.RemoveAt(path.Count - 1);
        }
    }

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\bMlPlatform(?:\.\w+)+")]
    private static partial Regex QualifiedName();
}
