using k8s.Models;
using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary>
/// <c>--AppHost:Gateway:DeclarativeConfig=kong.yml</c>: the gateway's kong.yml published as a Secret of its own,
/// mounted as a directory the gateway watches (a Secret update reloads it without a restart), and named in its ConfigMap.
/// </summary>
public sealed class DeclarativeConfigPublishTests
{
    [Fact]
    public async Task Publish_WithKongYml_TheGatewayMountsItFromASecret()
    {
        var file = Path.Combine(Path.GetTempPath(), $"kong-{Guid.NewGuid():N}.yml");
        var yaml = "_format_version: \"3.0\"\nservices:\n- name: inference\n  url: http://inference\n  routes:\n  - paths: [/v2]\n";
        await File.WriteAllTextAsync(file, yaml);
        try
        {
            var model = await PublishedModels.ReadAsync($"--AppHost:Gateway:DeclarativeConfig={file}");
            using var published = PublishedManifests.Publish(model);
            var kustomized = await published.KustomizeAsync();
            Assert.True(kustomized.ExitCode == 0, kustomized.ToString());

            var secret = published.Single<V1Secret>("gateway-kong");
            Assert.Equal(yaml, secret.StringData["kong.yml"]);
            var deployment = published.Single<V1Deployment>("gateway");
            var volume = Assert.Single(deployment.Spec.Template.Spec.Volumes, v => v.Name == "kong");
            Assert.Equal("gateway-kong", volume.Secret.SecretName);
            var mount = Assert.Single(deployment.Spec.Template.Spec.Containers[0].VolumeMounts, m => m.Name == "kong");
            Assert.Equal("/etc/mlplatform/kong", mount.MountPath);
            Assert.Null(mount.SubPath);
            Assert.True(mount.ReadOnlyProperty);
            Assert.Equal("/etc/mlplatform/kong/kong.yml", published.Single<V1ConfigMap>("gateway-settings").Data["Gateway__DeclarativeConfig"]);
            // No other service gets the file.
            Assert.Single(published.OfType<V1Secret>(), s => s.StringData?.ContainsKey("kong.yml") == true);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Publish_WithoutKongYml_HasNoKongSecret()
    {
        var model = await PublishedModels.ReadAsync();
        using var published = PublishedManifests.Publish(model);
        Assert.DoesNotContain(published.OfType<V1Secret>(), s => s.Metadata.Name == "gateway-kong");
        Assert.DoesNotContain("Gateway__DeclarativeConfig", published.Single<V1ConfigMap>("gateway-settings").Data.Keys);
    }
}
