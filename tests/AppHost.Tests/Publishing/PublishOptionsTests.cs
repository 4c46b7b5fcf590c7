using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Publishing;

namespace MlPlatform.AppHost.Tests.Publishing;

/// <summary>The <c>Publish</c> configuration section, as <c>--Publish:Key=value</c> gives it.</summary>
public sealed class PublishOptionsTests
{
    private const string Output = "/tmp/mlplatform-options";

    [Fact]
    public void Read_NoSettings_Defaults()
    {
        var (options, errors) = Read();

        Assert.Empty(errors);
        Assert.Equal(new PublishOptions { Output = Output }, options);
        Assert.Equal("mlplatform", options.Namespace);
        Assert.Equal("localhost:5000", options.Registry);
        Assert.Equal("latest", options.Tag);
        Assert.Equal("monitoring", options.MetricsNamespace);
        Assert.False(options.Force);
    }

    [Fact]
    public void Read_EverySetting_Taken()
    {
        var (options, errors) = Read(
            ("Namespace", "ml-prod"), ("Registry", "ghcr.io/acme/"), ("Tag", "1.2.3"), ("Host", "ml.example.com"), ("TlsSecret", "ml-tls"),
            ("IngressClass", "traefik"), ("IngressNamespace", "traefik-system"), ("MetricsNamespace", "observability"), ("Force", "true"));

        Assert.Empty(errors);
        Assert.Equal(
            new PublishOptions
            {
                Output = Output,
                Namespace = "ml-prod",
                Registry = "ghcr.io/acme",
                Tag = "1.2.3",
                Host = "ml.example.com",
                TlsSecret = "ml-tls",
                IngressClass = "traefik",
                IngressNamespace = "traefik-system",
                MetricsNamespace = "observability",
                Force = true,
            },
            options);
    }

    [Theory]
    [InlineData(null, "monitoring")]
    [InlineData("", null)]
    [InlineData("none", null)]
    [InlineData("observability", "observability")]
    public void Read_MetricsNamespace_EmptyOrNoneTurnsItOff(string? value, string? expected)
    {
        var (options, errors) = value is null ? Read() : Read(("MetricsNamespace", value));

        Assert.Empty(errors);
        Assert.Equal(expected, options.MetricsNamespace);
    }

    [Theory]
    [InlineData("Namespace", "My_Namespace")]
    [InlineData("Namespace", "")]
    [InlineData("Registry", "Registry With Space")]
    [InlineData("Registry", "GHCR.io/acme")]
    [InlineData("Tag", "-bad")]
    [InlineData("Host", "ml_example.com")]
    [InlineData("TlsSecret", "cert")]
    [InlineData("TlsSecret", "Ml_Tls")]
    [InlineData("IngressClass", "Nginx Class")]
    [InlineData("IngressNamespace", "Ingress_NS")]
    [InlineData("MetricsNamespace", "Monitoring")]
    [InlineData("MetricsNamespace", "monitoring.local")]
    [InlineData("Force", "maybe")]
    public void Read_InvalidValue_ErrorNamesTheSetting(string key, string value)
    {
        // TlsSecret needs a host; "cert" alone is refused for that, Ml_Tls for its name.
        var settings = key == "TlsSecret" && value != "cert"
            ? new[] { (key, value), ("Host", "ml.example.com") }
            : [(key, value)];

        var (_, errors) = Read(settings);

        var error = Assert.Single(errors);
        Assert.Contains($"Publish:{key}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownSetting_IsAnErrorNamingIt()
    {
        var (_, errors) = Read(("Foo", "1"));

        var error = Assert.Single(errors);
        Assert.Contains("Publish:Foo", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SeveralProblems_ListsEach()
    {
        var (_, errors) = Read(("Namespace", "Bad_NS"), ("Tag", "-x"), ("Colour", "blue"));

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("Publish:Namespace", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Publish:Tag", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Publish:Colour", StringComparison.Ordinal));
    }

    [Fact]
    public void CheckOutput_FolderWithFiles_RefusedUnlessForce()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"mlplatform-occupied-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            Assert.Null(KubernetesPublisher.CheckOutput(new PublishOptions { Output = folder }));
            File.WriteAllText(Path.Combine(folder, "notes.txt"), "mine");

            Assert.Contains("Publish:Force=true", KubernetesPublisher.CheckOutput(new PublishOptions { Output = folder }), StringComparison.Ordinal);
            Assert.Null(KubernetesPublisher.CheckOutput(new PublishOptions { Output = folder, Force = true }));
            Assert.NotNull(KubernetesPublisher.CheckOutput(new PublishOptions { Output = Path.Combine(folder, "notes.txt"), Force = true }));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static (PublishOptions Options, IReadOnlyList<string> Errors) Read(params (string Key, string Value)[] settings) =>
        PublishOptions.Read(
            new ConfigurationBuilder()
                .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>($"Publish:{s.Key}", s.Value)))
                .Build(),
            Output);
}
