using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace MlPlatform.AppHost.Publishing;

/// <summary>What <c>publish</c> takes from its command line; every name is checked before anything is written.</summary>
internal sealed partial record PublishOptions
{
    public required string Output { get; init; }

    public string Namespace { get; init; } = "mlplatform";

    /// <summary>Images are <c>{Registry}/mlplatform-{service}:{Tag}</c>.</summary>
    public string Registry { get; init; } = "localhost:5000";

    public string Tag { get; init; } = "latest";

    /// <summary>The Ingress host; without it the Ingress answers any host.</summary>
    public string? Host { get; init; }

    /// <summary>A Secret holding the certificate for <see cref="Host"/>; turns TLS on.</summary>
    public string? TlsSecret { get; init; }

    public string IngressClass { get; init; } = "nginx";

    /// <summary>The namespace the Ingress controller runs in: the only one whose pods may reach the gateway.</summary>
    public string IngressNamespace { get; init; } = "ingress-nginx";

    /// <summary>
    /// The namespace whose pods (Prometheus) may scrape every service's <c>/metrics</c>; null lets no namespace in.
    /// On the command line an empty value or <c>none</c> means null.
    /// </summary>
    public string? MetricsNamespace { get; init; } = "monitoring";

    /// <summary>Replace an output folder that already holds files.</summary>
    public bool Force { get; init; }

    public const string SectionName = "Publish";

    /// <summary>The settings of the <c>Publish</c> section, by their configuration names.</summary>
    private static readonly string[] Known = ["Namespace", "Registry", "Tag", "Host", "TlsSecret", "IngressClass", "IngressNamespace", "MetricsNamespace", "Force"];

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    // A registry host (with optional port) and optional repository path, as docker reference grammar has it, lower-case only.
    [GeneratedRegex("^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")]
    private static partial Regex RegistryPrefix();

    // An image tag that is also a valid label value, because it becomes app.kubernetes.io/version.
    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex TagAndLabel();

    /// <summary>
    /// The options of the <c>Publish</c> configuration section (<c>--Publish:Registry=ghcr.io/acme</c> on the command
    /// line, <c>Publish__Registry</c> in the environment), writing to <paramref name="output"/>; every problem is listed at once.
    /// </summary>
    public static (PublishOptions Options, IReadOnlyList<string> Errors) Read(IConfiguration configuration, string output)
    {
        var section = configuration.GetSection(SectionName);
        var errors = new List<string>();
        foreach (var child in section.GetChildren())
        {
            if (!Known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{SectionName}:{child.Key} is not a publish setting; they are {string.Join(", ", Known)}.");
            }
        }

        var force = false;
        if (section["Force"] is { } forceText && !bool.TryParse(forceText, out force))
        {
            errors.Add($"{SectionName}:Force is '{forceText}'; it must be true or false.");
        }

        var defaults = new PublishOptions { Output = output };
        var metricsNamespace = section["MetricsNamespace"] ?? defaults.MetricsNamespace;
        var options = defaults with
        {
            Namespace = section["Namespace"] ?? defaults.Namespace,
            Registry = (section["Registry"] ?? defaults.Registry).TrimEnd('/'),
            Tag = section["Tag"] ?? defaults.Tag,
            Host = section["Host"] is { Length: > 0 } host ? host : null,
            TlsSecret = section["TlsSecret"] is { Length: > 0 } secret ? secret : null,
            IngressClass = section["IngressClass"] ?? defaults.IngressClass,
            IngressNamespace = section["IngressNamespace"] ?? defaults.IngressNamespace,
            MetricsNamespace = metricsNamespace is "" or "none" ? null : metricsNamespace,
            Force = force,
        };
        errors.AddRange(options.Validate());
        return (options, errors);
    }

    /// <summary>Every problem with the options, each naming its option; empty when they are all valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool valid, string message)
        {
            if (!valid)
            {
                errors.Add(message);
            }
        }

        Check(Dns1123Label().IsMatch(Namespace),
            $"Publish:Namespace '{Namespace}' is not a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit.");
        Check(Dns1123Label().IsMatch(IngressNamespace),
            $"Publish:IngressNamespace '{IngressNamespace}' is not a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit.");
        if (MetricsNamespace is not null)
        {
            Check(Dns1123Label().IsMatch(MetricsNamespace),
                $"Publish:MetricsNamespace '{MetricsNamespace}' is not a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit (or none).");
        }

        Check(RegistryPrefix().IsMatch(Registry),
            $"Publish:Registry '{Registry}' is not an image registry: a lower-case host with an optional :port and /path, for example ghcr.io/acme or localhost:5000.");
        Check(TagAndLabel().IsMatch(Tag),
            $"Publish:Tag '{Tag}' must be 1 to 63 letters, digits, '_', '.' or '-', starting and ending with a letter or digit (it is also the version label).");
        Check(Dns1123Subdomain().IsMatch(IngressClass),
            $"Publish:IngressClass '{IngressClass}' is not a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'.");
        if (Host is not null)
        {
            var bareHost = Host.StartsWith("*.", StringComparison.Ordinal) ? Host[2..] : Host;
            Check(Dns1123Subdomain().IsMatch(bareHost),
                $"Publish:Host '{Host}' is not a DNS-1123 host name: lower-case letters, digits, '-' and '.', optionally starting with '*.'.");
        }

        if (TlsSecret is not null)
        {
            Check(Dns1123Subdomain().IsMatch(TlsSecret), $"Publish:TlsSecret '{TlsSecret}' is not a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'.");
            Check(Host is not null, "Publish:TlsSecret needs Publish:Host: a certificate is for a host name.");
        }

        return errors;
    }
}
