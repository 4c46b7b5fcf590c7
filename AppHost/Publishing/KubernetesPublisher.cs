using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Annotations;

namespace MlPlatform.AppHost.Publishing;

/// <summary>
/// Turns the application model into Kubernetes manifests, Dockerfiles and a kustomization.yaml,
/// written to a temporary folder first and moved into place only when every file is written.
/// </summary>
internal sealed class KubernetesPublisher(PublishedApplication model, PublishOptions options)
{
    /// <summary>The gateway's appsettings.json, read for its credentials and body size limit.</summary>
    public string GatewayAppSettings { get; init; } = Path.Combine(AppHostSettings.RepositoryRoot, "Gateway", "appsettings.json");

    /// <summary>The folder's problem when it may not be written, or null.</summary>
    public static string? CheckOutput(PublishOptions options)
    {
        var output = Path.GetFullPath(options.Output);
        if (File.Exists(output))
        {
            return $"the output '{options.Output}' is a file; give a folder.";
        }

        return Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any() && !options.Force
            ? $"the output '{options.Output}' already holds files; choose an empty folder or set Publish:Force=true to replace it."
            : null;
    }

    /// <summary>Every file, relative to the output folder, with its text.</summary>
    internal ManifestSet Build()
    {
        var set = new ManifestSet();
        var services = new ServiceManifests(options);
        var redis = new RedisManifests(options);
        var edge = new EdgeManifests(options);
        var order = model.Services;

        set.AddObjects("namespace.yaml", edge.Namespace());
        foreach (var executable in model.Executables)
        {
            var callers = order.Where(s => s.Connections.Contains(executable));
            set.AddObjects($"{executable.Name}-deployment.yaml", redis.Deployment(executable));
            set.AddObjects($"{executable.Name}-service.yaml", redis.Service(executable));
            set.AddObjects($"{executable.Name}-networkpolicy.yaml", edge.ReferencedPolicy(executable.Name, [executable.TargetPort], callers, metricsPort: null));
        }

        foreach (var service in order)
        {
            var secrets = SecretsOf(service);
            set.AddObjects($"{service.Name}-configmap.yaml", services.ConfigMap(service));
            if (secrets is not null)
            {
                set.AddObjects($"{service.Name}-secret.yaml", services.Secret(service, secrets));
            }

            if (service.DeclarativeConfig is not null)
            {
                set.AddObjects($"{service.Name}-kong-secret.yaml", services.DeclarativeConfigSecret(service));
            }

            set.AddObjects($"{service.Name}-deployment.yaml", services.Deployment(service, hasSecret: secrets is not null));
            set.AddObjects($"{service.Name}-service.yaml", services.Service(service));
            // An autoscaler would scale a service switched off (0 replicas) back on.
            if (service.Replicas > 0)
            {
                set.AddObjects($"{service.Name}-hpa.yaml", services.Autoscaler(service));
            }

            if (service.Replicas > 1)
            {
                set.AddObjects($"{service.Name}-pdb.yaml", services.DisruptionBudget(service));
            }

            var policy = service.IsGateway
                ? edge.GatewayPolicy(service)
                : edge.ReferencedPolicy(service.Name, [.. service.Endpoints.Select(e => e.Port)], order.Where(s => s.References.Contains(service)), service.MetricsEndpoint.Port);
            set.AddObjects($"{service.Name}-networkpolicy.yaml", policy);
        }

        if (order.FirstOrDefault(s => s.IsGateway) is { } gateway)
        {
            var maxBody = GatewayMaxRequestBodyBytes();
            var ingresses = new List<object> { edge.Ingress(gateway, maxBody) };
            if (edge.GrpcIngress(gateway, maxBody) is { } grpcIngress)
            {
                ingresses.Add(grpcIngress);
            }

            set.AddObjects("ingress.yaml", [.. ingresses]);
        }

        set.AddText("kustomization.yaml", k8s.KubernetesYaml.Serialize(new Kustomization { Resources = [.. set.Resources] }).TrimEnd() + "\n");
        foreach (var service in order)
        {
            set.AddText(Dockerfiles.FileName(service.Name), Dockerfiles.Service(service));
            set.AddText(Dockerfiles.FileName(service.Name) + ".dockerignore", Dockerfiles.ServiceIgnore);
        }

        if (order.Any(s => s.ServesModels))
        {
            set.AddText(Dockerfiles.FileName("models"), Dockerfiles.Models);
            set.AddText(Dockerfiles.FileName("models") + ".dockerignore", Dockerfiles.ModelsIgnore);
        }

        return set;
    }

    /// <summary>Writes every file; the output folder either holds all of them afterwards or is as it was.</summary>
    internal ManifestSet Write()
    {
        var set = Build();
        var output = Path.GetFullPath(options.Output);
        var parent = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(parent);
        // Beside the output, so the final move is a rename on the same filesystem.
        var staging = Path.Combine(parent, $".{Path.GetFileName(output)}.publishing-{Guid.NewGuid():N}");
        try
        {
            foreach (var (path, text) in set.Files)
            {
                var file = Path.Combine(staging, path);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.WriteAllText(file, text);
            }

            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }

            Directory.Move(staging, output);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }

        return set;
    }

    /// <summary>The gateway always gets a Secret, so credentials have one place to go even before there are any.</summary>
    private SortedDictionary<string, string>? SecretsOf(PublishedService service)
    {
        if (!service.IsGateway && service.Connections.Count == 0)
        {
            return null;
        }

        var secrets = service.IsGateway ? GatewaySecrets.Read(GatewayAppSettings) : new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var executable in service.Connections)
        {
            secrets[$"ConnectionStrings__{executable.Name}"] = executable.ConnectionString;
        }

        return secrets;
    }

    private long GatewayMaxRequestBodyBytes()
    {
        var settings = new ConfigurationBuilder().AddJsonFile(GatewayAppSettings, optional: true).Build();
        return long.TryParse(settings["Gateway:MaxRequestBodyBytes"], System.Globalization.CultureInfo.InvariantCulture, out var bytes) && bytes > 0
            ? bytes
            : 8 << 20;
    }

    /// <summary>kustomization.yaml: kustomize's own type, which KubernetesClient has no model for.</summary>
    private sealed class Kustomization
    {
        public string ApiVersion { get; init; } = "kustomize.config.k8s.io/v1beta1";

        public string Kind { get; init; } = "Kustomization";

        public required List<string> Resources { get; init; }
    }
}
