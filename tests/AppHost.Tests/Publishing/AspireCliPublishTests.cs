using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary><c>dotnet aspire publish</c>, the local tool of .config/dotnet-tools.json, finds this AppHost and runs its step.</summary>
[Collection(ProcessCollection.Name)]
public sealed class AspireCliPublishTests
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task AspirePublish_FromTheRepositoryRoot_WritesManifestsKustomizeBuilds()
    {
        var output = Path.Combine(Path.GetTempPath(), $"mlplatform-aspire-publish-{Guid.NewGuid():N}");
        // The CLI records the AppHost it found here; a repository without that file is left without it.
        var cliConfig = Path.Combine(AppHostPaths.Root, "aspire.config.json");
        var hadCliConfig = File.Exists(cliConfig);
        try
        {
            var restore = await ChildProcess.RunAsync("dotnet", ["tool", "restore"], CliTimeout);
            Assert.True(restore.ExitCode == 0, restore.ToString());

            var publish = await ChildProcess.RunAsync("dotnet", ["aspire", "publish", "-o", output, "--non-interactive"], CliTimeout);

            Assert.True(publish.ExitCode == 0, publish.ToString());
            Assert.Contains("publish-kubernetes", publish.Console, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(output, "kustomization.yaml")), publish.ToString());
            var kustomized = await PublishedManifests.Kustomize(output);
            Assert.True(kustomized.ExitCode == 0, kustomized.ToString());
            Assert.Contains("kind: Ingress", kustomized.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }

            if (!hadCliConfig && File.Exists(cliConfig))
            {
                File.Delete(cliConfig);
            }
        }
    }
}
