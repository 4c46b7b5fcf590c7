using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Model;
using MlPlatform.AppHost.Publishing;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary>A publish into a temporary folder, with the model it came from and every object read back strictly.</summary>
internal sealed class PublishedManifests : IDisposable
{
    private PublishedManifests(string folder, ApplicationModel model, PublishOptions options)
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

    public ApplicationModel Model { get; }

    public PublishOptions Options { get; }

    public Dictionary<string, string> Documents { get; } = new(StringComparer.Ordinal);

    public List<object> Objects { get; } = [];

    public static ApplicationModel Describe(params (string Key, string Value)[] settings) =>
        MlPlatformApplication.Describe(
            new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(),
            ServiceManifests.ModelRepositoryPath);

    public static PublishedManifests Publish(ApplicationModel model, Func<string, PublishOptions>? options = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"mlplatform-publish-{Guid.NewGuid():N}");
        var publishOptions = options?.Invoke(folder) ?? new PublishOptions { Output = folder };
        new KubernetesPublisher(model, publishOptions).Write();
        return new PublishedManifests(folder, model, publishOptions);
    }

    public IEnumerable<T> OfType<T>() => Objects.OfType<T>();

    public T Single<T>(string name) where T : IKubernetesObject<V1ObjectMeta> => OfType<T>().Single(o => o.Metadata.Name == name);

    /// <summary>Runs <c>kubectl kustomize</c> on the folder; its exit code and output.</summary>
    public (int ExitCode, string Output) Kustomize()
    {
        var startInfo = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        startInfo.ArgumentList.Add("kustomize");
        startInfo.ArgumentList.Add(Folder);
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }

    public void Dispose()
    {
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
