using System.Text.RegularExpressions;

namespace MlPlatform.AppHost.Publishing;

/// <summary>What <c>publish</c> takes from its command line; every name is checked before anything is written.</summary>
public sealed partial record PublishOptions
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

    public const string Usage =
        "Usage: dotnet run --project AppHost -- publish --output <dir> [--namespace <ns>] [--registry <registry>] [--tag <tag>] " +
        "[--host <host>] [--tls-secret <secret>] [--ingress-class <class>] [--ingress-namespace <ns>] [--metrics-namespace <ns>|none] [--force] [--AppHost:<setting>=<value>]";

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
    /// Splits the arguments after <c>publish</c> into publish options and the AppHost settings
    /// (<c>--AppHost:...</c>) that shape the application model; every problem is listed at once.
    /// </summary>
    public static (PublishOptions? Options, IReadOnlyList<string> Settings, IReadOnlyList<string> Errors) Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var settings = new List<string>();
        var errors = new List<string>();
        var force = false;
        string[] known = ["--output", "--namespace", "--registry", "--tag", "--host", "--tls-secret", "--ingress-class", "--ingress-namespace", "--metrics-namespace"];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--AppHost:", StringComparison.OrdinalIgnoreCase))
            {
                settings.Add(arg);
                if (!arg.Contains('=', StringComparison.Ordinal) && i + 1 < args.Count)
                {
                    settings.Add(args[++i]);
                }

                continue;
            }

            if (arg == "--force")
            {
                force = true;
                continue;
            }

            var name = arg.Split('=', 2)[0];
            if (!known.Contains(name))
            {
                errors.Add($"Unknown option '{arg}'.");
                continue;
            }

            if (arg.Contains('=', StringComparison.Ordinal))
            {
                values[name] = arg[(name.Length + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                values[name] = args[++i];
            }
            else
            {
                errors.Add($"Option '{name}' needs a value.");
            }
        }

        if (!values.TryGetValue("--output", out var output) || string.IsNullOrWhiteSpace(output))
        {
            errors.Add("--output is required: the folder to write the manifests into.");
        }

        if (errors.Count > 0)
        {
            return (null, settings, errors);
        }

        var defaults = new PublishOptions { Output = output! };
        var metricsNamespace = values.TryGetValue("--metrics-namespace", out var metrics) ? metrics : defaults.MetricsNamespace;
        var options = defaults with
        {
            Namespace = values.GetValueOrDefault("--namespace", defaults.Namespace),
            Registry = values.GetValueOrDefault("--registry", defaults.Registry).TrimEnd('/'),
            Tag = values.GetValueOrDefault("--tag", defaults.Tag),
            Host = values.GetValueOrDefault("--host"),
            TlsSecret = values.GetValueOrDefault("--tls-secret"),
            IngressClass = values.GetValueOrDefault("--ingress-class", defaults.IngressClass),
            IngressNamespace = values.GetValueOrDefault("--ingress-namespace", defaults.IngressNamespace),
            MetricsNamespace = metricsNamespace is "" or "none" ? null : metricsNamespace,
            Force = force,
        };
        return (options, settings, options.Validate());
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
            $"--namespace '{Namespace}' is not a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit.");
        Check(Dns1123Label().IsMatch(IngressNamespace),
            $"--ingress-namespace '{IngressNamespace}' is not a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit.");
        if (MetricsNamespace is not null)
        {
            Check(Dns1123Label().IsMatch(MetricsNamespace),
                $"--metrics-namespace '{MetricsNamespace}' is not a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit (or none).");
        }

        Check(RegistryPrefix().IsMatch(Registry),
            $"--registry '{Registry}' is not an image registry: a lower-case host with an optional :port and /path, for example ghcr.io/acme or localhost:5000.");
        Check(TagAndLabel().IsMatch(Tag),
            $"--tag '{Tag}' must be 1 to 63 letters, digits, '_', '.' or '-', starting and ending with a letter or digit (it is also the version label).");
        Check(Dns1123Subdomain().IsMatch(IngressClass),
            $"--ingress-class '{IngressClass}' is not a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'.");
        if (Host is not null)
        {
            var bareHost = Host.StartsWith("*.", StringComparison.Ordinal) ? Host[2..] : Host;
            Check(Dns1123Subdomain().IsMatch(bareHost),
                $"--host '{Host}' is not a DNS-1123 host name: lower-case letters, digits, '-' and '.', optionally starting with '*.'.");
        }

        if (TlsSecret is not null)
        {
            Check(Dns1123Subdomain().IsMatch(TlsSecret), $"--tls-secret '{TlsSecret}' is not a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'.");
            Check(Host is not null, "--tls-secret needs --host: a certificate is for a host name.");
        }

        return errors;
    }
}
