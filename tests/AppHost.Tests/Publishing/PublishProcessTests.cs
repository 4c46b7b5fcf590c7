using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary>The publish-kubernetes step as a person runs it: the built AppHost, its exit code, its console, the folder it leaves.</summary>
[Collection(ProcessCollection.Name)]
public sealed class PublishProcessTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"mlplatform-publish-process-{Guid.NewGuid():N}");

    public PublishProcessTests() => Directory.CreateDirectory(_root);

    [Fact]
    public async Task Publish_HappyPath_WritesFilesAndPrintsTheNextSteps()
    {
        var output = Path.Combine(_root, "k8s");

        var result = await PublishAsync(output, "--Publish:Registry=ghcr.io/acme", "--Publish:Tag=1.0.0", "--Publish:Host=ml.example.com", "--Publish:TlsSecret=ml-tls");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Wrote", result.Console, StringComparison.Ordinal);
        Assert.Contains("docker build -f", result.Console, StringComparison.Ordinal);
        Assert.Contains("ghcr.io/acme/mlplatform-inference:1.0.0", result.Console, StringComparison.Ordinal);
        Assert.Contains("https://ml.example.com/", result.Console, StringComparison.Ordinal);
        Assert.Contains("kubectl apply -k", result.Console, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "kustomization.yaml")));
        Assert.True(File.Exists(Path.Combine(output, "docker", "gateway.Dockerfile")));
        Assert.Contains("image: ghcr.io/acme/mlplatform-gateway:1.0.0", File.ReadAllText(Path.Combine(output, "gateway-deployment.yaml")), StringComparison.Ordinal);
        Assert.Contains("secretName: ml-tls", File.ReadAllText(Path.Combine(output, "ingress.yaml")), StringComparison.Ordinal);
        // No staging folder left beside the output.
        Assert.Equal(["k8s"], Directory.EnumerateFileSystemEntries(_root).Select(Path.GetFileName));
        var kustomized = await PublishedManifests.Kustomize(output);
        Assert.True(kustomized.ExitCode == 0, kustomized.ToString());
    }

    [Fact]
    public async Task Publish_TwoGateways_WritesRedis()
    {
        var output = Path.Combine(_root, "k8s");

        var result = await PublishAsync(output, "--AppHost:Replicas:gateway=2", "--Publish:Namespace=ml-prod");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(output, "redis-deployment.yaml")));
        Assert.Contains("ConnectionStrings__redis: redis:6379", File.ReadAllText(Path.Combine(output, "gateway-secret.yaml")), StringComparison.Ordinal);
        Assert.Contains("namespace: ml-prod", File.ReadAllText(Path.Combine(output, "gateway-deployment.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_FolderHoldsOtherFiles_RefusedUnlessForce()
    {
        var output = Path.Combine(_root, "occupied");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "mine");

        var refused = await PublishAsync(output);

        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("Publish:Force=true", refused.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was written.", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Console, StringComparison.Ordinal);
        Assert.Equal(["notes.txt"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(output, "notes.txt")));

        var forced = await PublishAsync(output, "--Publish:Force=true");

        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.True(File.Exists(Path.Combine(output, "kustomization.yaml")));
        Assert.False(File.Exists(Path.Combine(output, "notes.txt")));
    }

    [Theory]
    [InlineData("--Publish:Namespace=Bad_NS", "Publish:Namespace")]
    [InlineData("--Publish:MetricsNamespace=Prometheus_NS", "Publish:MetricsNamespace")]
    [InlineData("--Publish:Foo=1", "Publish:Foo")]
    [InlineData("--Publish:Force=yes", "Publish:Force")]
    public async Task Publish_BadOption_ExitsTwoNamingItAndWritesNothing(string option, string named)
    {
        var output = Path.Combine(_root, "never");

        var result = await PublishAsync(output, option);

        Assert.True(result.ExitCode == 2, result.ToString());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Equal("Nothing was written.", lines[^1]);
        Assert.Contains(lines, l => l.StartsWith("error: ", StringComparison.Ordinal) && l.Contains(named, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", result.Console, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public async Task Publish_BadAppHostSetting_ExitsTwoAndWritesNothing()
    {
        var output = Path.Combine(_root, "never");

        var result = await PublishAsync(output, "--AppHost:Replicas:inference=-1");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("error: AppHost:Replicas:inference", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Console, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    private static Task<CommandResult> PublishAsync(string output, params string[] options) =>
        ChildProcess.AppHostAsync(["--operation", "publish", "--step", "publish-kubernetes", "--output-path", output, .. options]);

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
