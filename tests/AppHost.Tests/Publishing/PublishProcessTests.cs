using System.Diagnostics;
using MlPlatform.TestSupport;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary>The publish verb as a person runs it: the built AppHost, its exit code, its console, the folder it leaves.</summary>
public sealed class PublishProcessTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"mlplatform-publish-process-{Guid.NewGuid():N}");

    public PublishProcessTests() => Directory.CreateDirectory(_root);

    [Fact]
    public async Task Publish_HappyPath_WritesFilesAndPrintsTheNextSteps()
    {
        var output = Path.Combine(_root, "k8s");

        var (exitCode, console) = await PublishAsync("--output", output, "--namespace", "ml-prod", "--registry", "ghcr.io/acme", "--tag", "1.2.3", "--host", "ml.example.com", "--tls-secret", "ml-tls", "--AppHost:Replicas:gateway=2");

        Assert.True(exitCode == 0, console);
        Assert.Contains("kubectl apply -k", console);
        Assert.Contains("docker build -f", console);
        Assert.Contains("ghcr.io/acme/mlplatform-inference:1.2.3", console);
        Assert.Contains("https://ml.example.com/", console);
        Assert.Contains("Metrics: pods in namespace 'monitoring' may scrape /metrics on port 8080", console);
        Assert.True(File.Exists(Path.Combine(output, "kustomization.yaml")));
        Assert.True(File.Exists(Path.Combine(output, "redis-deployment.yaml")));
        Assert.Contains("namespace: ml-prod", File.ReadAllText(Path.Combine(output, "gateway-deployment.yaml")));
        Assert.Empty(Directory.EnumerateDirectories(_root, ".*"));
    }

    [Fact]
    public async Task Publish_FolderHoldsOtherFiles_RefusedUnlessForce()
    {
        var output = Path.Combine(_root, "occupied");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "mine");

        var (exitCode, console) = await PublishAsync("--output", output);

        Assert.Equal(2, exitCode);
        Assert.Contains("--force", console);
        Assert.Equal(["notes.txt"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));

        var (forcedExitCode, forcedConsole) = await PublishAsync("--output", output, "--force");

        Assert.True(forcedExitCode == 0, forcedConsole);
        Assert.True(File.Exists(Path.Combine(output, "kustomization.yaml")));
        Assert.False(File.Exists(Path.Combine(output, "notes.txt")));
    }

    [Theory]
    [InlineData("--metrics-namespace=")]
    [InlineData("--metrics-namespace", "none")]
    public async Task Publish_MetricsNamespaceOff_NoPolicyAdmitsAMetricsNamespace(params string[] option)
    {
        var output = Path.Combine(_root, "k8s");

        var (exitCode, console) = await PublishAsync(["--output", output, .. option]);

        Assert.True(exitCode == 0, console);
        Assert.Contains("Metrics: no namespace may scrape /metrics", console);
        var policies = Directory.EnumerateFiles(output, "*-networkpolicy.yaml").Select(File.ReadAllText).ToList();
        Assert.NotEmpty(policies);
        Assert.All(policies, text => Assert.DoesNotContain("monitoring", text));
        Assert.Contains(policies, text => text.Contains("kubernetes.io/metadata.name: ingress-nginx", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--namespace", "Bad_Namespace", "--namespace")]
    [InlineData("--metrics-namespace", "Prometheus_NS", "--metrics-namespace")]
    [InlineData("--AppHost:Replicas:inference=-1", null, "AppHost:Replicas:inference")]
    [InlineData("--replicas", "3", "Unknown option '--replicas'")]
    public async Task Publish_BadInput_ExitsTwoNamingTheProblemAndWritesNothing(string option, string? value, string named)
    {
        var output = Path.Combine(_root, "never");
        string[] args = value is null ? ["--output", output, option] : ["--output", output, option, value];

        var (exitCode, console) = await PublishAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(named, console);
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    private static async Task<(int ExitCode, string Console)> PublishAsync(params string[] args)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        startInfo.ArgumentList.Add(RepositoryPaths.ProjectAssembly("AppHost", "MlPlatform.AppHost"));
        startInfo.ArgumentList.Add("publish");
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
