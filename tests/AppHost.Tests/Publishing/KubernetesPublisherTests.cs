using k8s;
using k8s.Models;
using MlPlatform.AppHost.Model;
using MlPlatform.AppHost.Publishing;

namespace MlPlatform.AppHost.Tests.Publishing;

public sealed class KubernetesPublisherTests
{
    private const int HttpPort = 8080;

    [Fact]
    public void Publish_DefaultModel_KustomizeBuildsEveryListedFile()
    {
        using var published = PublishedManifests.Publish(PublishedManifests.Describe());

        var (exitCode, output) = published.Kustomize();

        Assert.True(exitCode == 0, output);
        var listed = File.ReadAllLines(Path.Combine(published.Folder, "kustomization.yaml")).Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Select(l => l[2..]);
        Assert.Equal(published.Documents.Keys.Order(), listed.Order());
        Assert.True(File.Exists(Path.Combine(published.Folder, "docker", "models.Dockerfile")));
    }

    [Fact]
    public void Publish_EveryDocument_RoundTripsStrictlyThroughTheTypedModelsAndValidates()
    {
        using var published = PublishedManifests.Publish(PublishedManifests.Describe(("AppHost:Replicas:gateway", "2")));

        foreach (var (file, text) in published.Documents)
        {
            var objects = KubernetesYaml.LoadAllFromString(text, typeMap: null, strict: true);
            var reserialized = string.Join("---\n", objects.Select(o => KubernetesYaml.Serialize(o).TrimEnd() + "\n"));
            Assert.True(reserialized == text, $"{file} changes when read back through the typed model");
            foreach (var item in objects)
            {
                var kubernetesObject = Assert.IsAssignableFrom<IKubernetesObject<V1ObjectMeta>>(item);
                Assert.False(string.IsNullOrEmpty(kubernetesObject.ApiVersion), file);
                Assert.False(string.IsNullOrEmpty(kubernetesObject.Kind), file);
                Assert.False(string.IsNullOrEmpty(kubernetesObject.Metadata?.Name), file);
                Assert.Equal(kubernetesObject is V1Namespace ? null : published.Options.Namespace, kubernetesObject.Metadata!.NamespaceProperty);
                // The generated models check their required fields (containers, selectors, ports...).
                item.GetType().GetMethod("Validate")?.Invoke(item, null);
            }
        }
    }

    [Fact]
    public void Publish_UnknownField_StrictReadRefuses()
    {
        const string Yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selectr:\n    a: b\n";

        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(Yaml, typeMap: null, strict: true));
    }

    [Fact]
    public void Publish_Deployments_AgreeWithTheModel()
    {
        var model = PublishedManifests.Describe(("AppHost:Replicas:inference", "3"), ("AppHost:Replicas:gateway", "2"));
        using var published = PublishedManifests.Publish(model);

        foreach (var service in model.Services)
        {
            var deployment = published.Single<V1Deployment>(service.Name);
            Assert.Equal(service.Replicas, deployment.Spec.Replicas);
            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            Assert.Equal($"localhost:5000/mlplatform-{service.Name}:latest", container.Image);
            Assert.Equal(HttpPort, Assert.Single(container.Ports).ContainerPort);
            Assert.Equal(service.HealthCheckPath, container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/alive", container.LivenessProbe.HttpGet.Path);
            Assert.Equal(service.SlowStart is not null, container.StartupProbe is not null);
            Assert.NotNull(container.Resources.Requests["cpu"]);
            Assert.NotNull(container.Resources.Limits["memory"]);
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
            Assert.True(container.SecurityContext.RunAsNonRoot);
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
            Assert.Contains(container.VolumeMounts, m => m.MountPath == "/tmp");

            var annotations = deployment.Spec.Template.Metadata.Annotations;
            Assert.Equal("true", annotations["prometheus.io/scrape"]);
            Assert.Equal("/metrics", annotations["prometheus.io/path"]);

            var environment = EnvironmentOf(published, container);
            Assert.Equal("8080", environment["HTTP_PORTS"]);
            Assert.Equal("true", environment["ASPNETCORE_FORWARDEDHEADERS_ENABLED"]);
            Assert.Equal(service.Name, environment["OTEL_SERVICE_NAME"]);
            foreach (var reference in service.References)
            {
                Assert.Equal($"http://{reference.Name}:{HttpPort}", environment[$"services__{reference.Name}__http__0"]);
            }

            foreach (var (key, value) in service.Environment)
            {
                Assert.Equal(value, environment[key]);
            }

            foreach (var connection in service.Connections)
            {
                Assert.Equal($"{connection.Name}:{connection.TargetPort}", environment[$"ConnectionStrings__{connection.Name}"]);
            }

            Assert.Equal(service.Replicas > 1, published.OfType<V1PodDisruptionBudget>().Any(b => b.Metadata.Name == service.Name));
            var autoscaler = published.Single<V2HorizontalPodAutoscaler>(service.Name);
            Assert.Equal(service.Name, autoscaler.Spec.ScaleTargetRef.Name);
            Assert.Equal(service.Replicas, autoscaler.Spec.MinReplicas);
        }

        Assert.Equal("/models", published.Single<V1Deployment>("inference").Spec.Template.Spec.Containers[0].VolumeMounts.Single(m => m.Name == "models").MountPath);
        var copier = Assert.Single(published.Single<V1Deployment>("inference").Spec.Template.Spec.InitContainers);
        Assert.Equal("localhost:5000/mlplatform-models:latest", copier.Image);
    }

    [Fact]
    public void Publish_Services_SelectThePodsOfTheirDeployment()
    {
        using var published = PublishedManifests.Publish(PublishedManifests.Describe(("AppHost:Replicas:gateway", "2")));

        foreach (var service in published.OfType<V1Service>())
        {
            var deployment = published.Single<V1Deployment>(service.Metadata.Name);
            Assert.Equal("ClusterIP", service.Spec.Type);
            Assert.True(Selects(service.Spec.Selector, deployment.Spec.Template.Metadata.Labels), service.Metadata.Name);
            Assert.True(Selects(deployment.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels), service.Metadata.Name);
            var port = Assert.Single(service.Spec.Ports);
            Assert.Contains(deployment.Spec.Template.Spec.Containers[0].Ports, p => p.Name == port.TargetPort.Value);
        }

        foreach (var deployment in published.OfType<V1Deployment>())
        {
            Assert.Contains(published.OfType<V1Service>(), s => s.Metadata.Name == deployment.Metadata.Name);
            var labels = deployment.Spec.Template.Metadata.Labels;
            Assert.Equal(deployment.Metadata.Name, labels["app.kubernetes.io/name"]);
            Assert.Equal("mlplatform", labels["app.kubernetes.io/part-of"]);
            Assert.True(labels.ContainsKey("app.kubernetes.io/component"));
            Assert.Equal("latest", labels["app.kubernetes.io/version"]);
        }
    }

    [Fact]
    public void Publish_HostAndTls_IngressRoutesOnlyToTheGatewayServicePort()
    {
        using var published = PublishedManifests.Publish(
            PublishedManifests.Describe(),
            folder => new PublishOptions { Output = folder, Host = "ml.example.com", TlsSecret = "ml-tls", IngressClass = "traefik" });

        var ingress = Assert.Single(published.OfType<V1Ingress>());
        Assert.Equal("traefik", ingress.Spec.IngressClassName);
        Assert.Equal("ml-tls", Assert.Single(ingress.Spec.Tls).SecretName);
        var rule = Assert.Single(ingress.Spec.Rules);
        Assert.Equal("ml.example.com", rule.Host);
        var backend = Assert.Single(rule.Http.Paths).Backend.Service;
        var gateway = published.Single<V1Service>(backend.Name);
        Assert.True(published.Model[backend.Name].IsExternal);
        Assert.Contains(gateway.Spec.Ports, p => p.Port == backend.Port.Number);
    }

    [Fact]
    public void Publish_NetworkPolicies_SelectThePodsAndAdmitOnlyTheirCallers()
    {
        var model = PublishedManifests.Describe(("AppHost:Replicas:gateway", "2"));
        // Without the metrics rule, which Publish_NetworkPolicies_AdmitTheMetricsNamespaceToEveryService covers.
        using var published = PublishedManifests.Publish(model, folder => new PublishOptions { Output = folder, MetricsNamespace = null });
        var podLabels = published.OfType<V1Deployment>().ToDictionary(d => d.Metadata.Name, d => d.Spec.Template.Metadata.Labels);

        foreach (var policy in published.OfType<V1NetworkPolicy>())
        {
            var selected = podLabels.Where(p => Selects(policy.Spec.PodSelector.MatchLabels, p.Value)).Select(p => p.Key);
            Assert.Equal([policy.Metadata.Name], selected);
            var rule = Assert.Single(policy.Spec.Ingress);
            var callers = rule.FromProperty.Where(p => p.PodSelector is not null)
                .SelectMany(p => podLabels.Where(l => Selects(p.PodSelector.MatchLabels, l.Value)).Select(l => l.Key))
                .Order();
            IEnumerable<string> expected = policy.Metadata.Name switch
            {
                "gateway" => [],
                "redis" => ["gateway"],
                var name => model.Services.Where(s => s.References.Any(r => r.Name == name)).Select(s => s.Name).Order(),
            };
            Assert.Equal(expected, callers);
        }

        var gatewayPeer = Assert.Single(Assert.Single(published.Single<V1NetworkPolicy>("gateway").Spec.Ingress).FromProperty);
        Assert.Equal("ingress-nginx", gatewayPeer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        Assert.Equal(podLabels.Keys.Order(), published.OfType<V1NetworkPolicy>().Select(p => p.Metadata.Name).Order());
    }

    [Fact]
    public void Publish_NetworkPolicies_AdmitTheMetricsNamespaceToEveryService()
    {
        var model = PublishedManifests.Describe(("AppHost:Replicas:gateway", "2"));
        using var withMetrics = PublishedManifests.Publish(model);
        using var withoutMetrics = PublishedManifests.Publish(model, folder => new PublishOptions { Output = folder, MetricsNamespace = null });

        Assert.Equal("monitoring", withMetrics.Options.MetricsNamespace);
        foreach (var service in model.Services)
        {
            var rules = withMetrics.Single<V1NetworkPolicy>(service.Name).Spec.Ingress;
            var metricsRule = rules[^1];
            var peer = Assert.Single(metricsRule.FromProperty);
            Assert.Null(peer.PodSelector);
            Assert.Equal(new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "monitoring" }, peer.NamespaceSelector.MatchLabels);
            var port = Assert.Single(metricsRule.Ports);
            Assert.Equal("8080", port.Port.Value);
            Assert.Equal("TCP", port.Protocol);
            // The callers' rules are as they were without metrics.
            Assert.Equal(
                KubernetesYaml.Serialize(withoutMetrics.Single<V1NetworkPolicy>(service.Name).Spec.Ingress),
                KubernetesYaml.Serialize(rules.Take(rules.Count - 1).ToList()));
        }

        // Redis serves no /metrics: its policy does not change.
        Assert.Equal(
            KubernetesYaml.Serialize(withoutMetrics.Single<V1NetworkPolicy>("redis")),
            KubernetesYaml.Serialize(withMetrics.Single<V1NetworkPolicy>("redis")));
        Assert.DoesNotContain(withoutMetrics.OfType<V1NetworkPolicy>().SelectMany(p => p.Spec.Ingress).SelectMany(r => r.FromProperty), p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == "monitoring");
        Assert.True(withMetrics.Kustomize().ExitCode == 0);
    }

    [Fact]
    public void Publish_MetricsNamespaceOption_SelectsThatNamespace()
    {
        using var published = PublishedManifests.Publish(
            PublishedManifests.Describe(),
            folder => new PublishOptions { Output = folder, MetricsNamespace = "observability" });

        foreach (var policy in published.OfType<V1NetworkPolicy>())
        {
            Assert.Contains(policy.Spec.Ingress, r => r.FromProperty.Any(p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == "observability"));
        }
    }

    [Theory]
    [InlineData(null, "monitoring")]
    [InlineData("--metrics-namespace=", null)]
    [InlineData("--metrics-namespace=none", null)]
    [InlineData("--metrics-namespace=observability", "observability")]
    public void Parse_MetricsNamespace_EmptyOrNoneTurnsItOff(string? arg, string? expected)
    {
        var (options, _, errors) = PublishOptions.Parse(arg is null ? ["--output", "/tmp/x"] : ["--output", "/tmp/x", arg]);

        Assert.Empty(errors);
        Assert.Equal(expected, options!.MetricsNamespace);
    }

    [Fact]
    public void Publish_DefaultModel_HasNoRedis()
    {
        using var published = PublishedManifests.Publish(PublishedManifests.Describe());

        Assert.DoesNotContain(published.Objects.OfType<IKubernetesObject<V1ObjectMeta>>(), o => o.Metadata.Name == "redis");
        var secret = published.Single<V1Secret>("gateway-secrets");
        Assert.False(secret.StringData?.ContainsKey("ConnectionStrings__redis") ?? false);
        Assert.Equal(1, published.Single<V2HorizontalPodAutoscaler>("gateway").Spec.MaxReplicas);
    }

    [Fact]
    public void Publish_GatewayTwoReplicas_RedisDeploymentServiceAndConnectionSecret()
    {
        using var published = PublishedManifests.Publish(PublishedManifests.Describe(("AppHost:Replicas:gateway", "2")));

        var redis = published.Single<V1Deployment>("redis");
        var container = Assert.Single(redis.Spec.Template.Spec.Containers);
        Assert.StartsWith("redis:", container.Image, StringComparison.Ordinal);
        Assert.True(redis.Spec.Template.Spec.SecurityContext.RunAsNonRoot);
        Assert.Equal(6379, Assert.Single(published.Single<V1Service>("redis").Spec.Ports).Port);
        Assert.Equal("redis:6379", published.Single<V1Secret>("gateway-secrets").StringData["ConnectionStrings__redis"]);
        Assert.Equal("redis", published.Single<V1ConfigMap>("gateway-settings").Data["Gateway__RateLimiting__Policy"]);
    }

    [Fact]
    public void Describe_RedisPolicyWithOneGateway_GatewayReferencesRedis()
    {
        var model = PublishedManifests.Describe(("AppHost:Gateway:RateLimitPolicy", "redis"));

        Assert.Equal("redis", Assert.Single(model["gateway"].Connections).Name);
        Assert.Empty(PublishedManifests.Describe().Executables);
    }

    [Theory]
    [InlineData("--namespace", "My_Namespace", "--namespace")]
    [InlineData("--registry", "Registry With Space", "--registry")]
    [InlineData("--tag", "-bad", "--tag")]
    [InlineData("--tls-secret", "cert", "--tls-secret")]
    [InlineData("--metrics-namespace", "Monitoring", "--metrics-namespace")]
    [InlineData("--metrics-namespace", "monitoring.local", "--metrics-namespace")]
    public void Parse_InvalidValue_ErrorNamesTheOption(string option, string value, string named)
    {
        var (_, _, errors) = PublishOptions.Parse(["--output", "/tmp/x", option, value]);

        Assert.Contains(errors, e => e.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_UnknownOptionAndMissingOutput_ListsBoth()
    {
        var (options, _, errors) = PublishOptions.Parse(["--colour", "blue"]);

        Assert.Null(options);
        Assert.Contains(errors, e => e.Contains("--colour", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("--output", StringComparison.Ordinal));
    }

    private static bool Selects(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);

    private static Dictionary<string, string> EnvironmentOf(PublishedManifests published, V1Container container)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in container.EnvFrom ?? [])
        {
            var values = source.ConfigMapRef is { } configMap
                ? published.Single<V1ConfigMap>(configMap.Name).Data
                : published.Single<V1Secret>(source.SecretRef.Name).StringData ?? new Dictionary<string, string>();
            foreach (var (key, value) in values)
            {
                environment[key] = value;
            }
        }

        foreach (var variable in container.Env ?? [])
        {
            environment[variable.Name] = variable.Value ?? "";
        }

        return environment;
    }
}
