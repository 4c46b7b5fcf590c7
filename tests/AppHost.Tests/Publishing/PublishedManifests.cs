using k8s;
using k8s.Models;
using MlPlatform.AppHost.Publishing;
using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary>A publish into a temporary folder, with the model it came from and every object read back strictly.</summary>
internal sealed class PublishedManifests : IDisposable
{
    private PublishedManifests(string folder, PublishedApplication model, PublishOptions options)
    {
        Folder = folder;
        Model = model;
        Options = options;
        foreach (var file in Directory.EnumerateFiles(folder, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml"))
        {
            Documents[Path.GetFileName(file)] = File.ReadAllText(file);
            // Strict: a field the typed model does not know (a typo, a wrong nesting) throws.
            Objects.AddRange(KubernetesYaml.LoadAllFromString(File.ReadAllText(file), typeMap: null, strict: true));
        }
    }

    public string Folder { get; }

    public PublishedApplication Model { get; }

    public PublishOptions Options { get; }

    /// <summary>Every Kubernetes object file (not kustomization.yaml) by name, with its text.</summary>
    public Dictionary<string, string> Documents { get; } = new(StringComparer.Ordinal);

    public List<object> Objects { get; } = [];

    public static PublishedManifests Publish(PublishedApplication model, Func<string, PublishOptions>? options = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"mlplatform-publish-{Guid.NewGuid():N}");
        var publishOptions = options?.Invoke(folder) ?? new PublishOptions { Output = folder };
        new KubernetesPublisher(model, publishOptions).Write();
        return new PublishedManifests(folder, model, publishOptions);
    }

    public IEnumerable<T> OfType<T>() => Objects.OfType<T>();

    public T Single<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta> =>
        OfType<T>().Single(o => o.Metadata.Name == name);

    public Task<CommandResult> KustomizeAsync() => Kustomize(Folder);

    /// <summary>Runs <c>kubectl kustomize</c> on a folder.</summary>
    public static Task<CommandResult> Kustomize(string folder) => ChildProcess.RunAsync("kubectl", ["kustomize", folder]);

    public void Dispose()
    {
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
