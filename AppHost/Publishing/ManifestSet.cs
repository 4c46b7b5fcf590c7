using System.Text;
using k8s;

namespace MlPlatform.AppHost.Publishing;

/// <summary>The files of one publish, in order, before any of them is written.</summary>
internal sealed class ManifestSet
{
    private readonly List<(string Path, string Text)> _files = [];
    private readonly List<string> _resources = [];

    public IReadOnlyList<(string Path, string Text)> Files => _files;

    /// <summary>The Kubernetes object files, which kustomization.yaml lists.</summary>
    public IReadOnlyList<string> Resources => _resources;

    /// <summary>Adds a file of one or more Kubernetes objects, each through KubernetesClient's serializer.</summary>
    public void AddObjects(string path, params object[] objects)
    {
        var text = new StringBuilder();
        foreach (var item in objects)
        {
            if (text.Length > 0)
            {
                text.Append("---\n");
            }

            text.Append(KubernetesYaml.Serialize(item));
            if (text[^1] != '\n')
            {
                text.Append('\n');
            }
        }

        _files.Add((path, text.ToString()));
        _resources.Add(path);
    }

    public void AddText(string path, string text) => _files.Add((path, text));
}
