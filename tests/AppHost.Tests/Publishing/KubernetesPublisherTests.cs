using k8s;
using k8s.Models;
using MlPlatform.AppHost.Publishing;

namespace MlPlatform.AppHost.Tests.Publishing;

public sealed class KubernetesPublisherTests(PublishedModels models) : IClassFixture<PublishedModels>
{
    private const int HttpPort = 8080;
    private const int GrpcPort = 8081;
    private const int ManagementPort = 8090;

    [Fact]
    public async Task Publish_DefaultModel_KustomizeBuildsEveryListedFile()
    {
        using var published = PublishedManifests.Publish(models.Default);

        var kustomized = await published.KustomizeAsync();

        Assert.True(kustomized.ExitCode == 0, kustomized.ToString());
        var listed = File.ReadAllLines(Path.Combine(published.Folder, "kustomization.yaml")).Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Select(l => l[2..]);
        Assert.Equal(published.Documents.Keys.Order(), listed.Order());
        foreach (var service in models.Default.Services)
        {
            Assert.True(File.Exists(Path.Combine(published.Folder, "docker", $"{service.Name}.Dockerfile")), service.Name);
        }

        Assert.True(File.Exists(Path.Combine(published.Folder, "docker", "models.Dockerfile")));
    }

    [Fact]
    public void Publish_EveryDocument_RoundTripsStrictlyThroughTheTypedModelsAndValidates()
    {
        using var published = PublishedManifests.Publish(models.TwoGateways);

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
        var model = models.Scaled;
        using var published = PublishedManifests.Publish(model);

        Assert.Equal(["gateway", "inference", "postprocessing", "preprocessing"], model.Services.Select(s => s.Name).Order());
        Assert.Equal(3, model.Services.Single(s => s.Name == "inference").Replicas);
        foreach (var service in model.Services)
        {
            var deployment = published.Single<V1Deployment>(service.Name);
            Assert.Equal(service.Replicas, deployment.Spec.Replicas);
            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            Assert.Equal($"localhost:5000/mlplatform-{service.Name}:latest", container.Image);
            Assert.Equal(service.Endpoints.Select(e => (e.Name, e.Port)), container.Ports.Select(p => (p.Name, p.ContainerPort)));
            Assert.Equal(("http", HttpPort), (container.Ports[0].Name, container.Ports[0].ContainerPort));
            Assert.Equal("/health", container.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/alive", container.LivenessProbe.HttpGet.Path);
            // The gateway's own endpoints are on its management port alone.
            var probePort = service.IsGateway ? "management" : "http";
            Assert.Equal(probePort, container.ReadinessProbe.HttpGet.Port.Value);
            Assert.Equal(probePort, container.LivenessProbe.HttpGet.Port.Value);
            Assert.Equal(service.Name == "inference", container.StartupProbe is not null);
            Assert.Equal(service.Compute!.CpuRequest, container.Resources.Requests["cpu"].ToString());
            Assert.Equal(service.Compute.MemoryLimit, container.Resources.Limits["memory"].ToString());
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
            Assert.True(container.SecurityContext.RunAsNonRoot);
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
            Assert.Contains(container.VolumeMounts, m => m.MountPath == "/tmp");
            Assert.True(deployment.Spec.Template.Spec.SecurityContext.RunAsNonRoot);

            var annotations = deployment.Spec.Template.Metadata.Annotations;
            Assert.Equal("true", annotations["prometheus.io/scrape"]);
            Assert.Equal(service.IsGateway ? "8090" : "8080", annotations["prometheus.io/port"]);
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

        // gRPC on a port of its own, the one the service's own setting names, in inference and the gateway alone.
        foreach (var (name, variable) in new[] { ("inference", "Inference__GrpcPort"), ("gateway", "Gateway__GrpcPort") })
        {
            var container = published.Single<V1Deployment>(name).Spec.Template.Spec.Containers[0];
            var grpc = Assert.Single(container.Ports, p => p.Name == "grpc");
            Assert.Equal(GrpcPort, grpc.ContainerPort);
            Assert.Equal(grpc.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture), EnvironmentOf(published, container)[variable]);
        }

        foreach (var name in new[] { "preprocessing", "postprocessing" })
        {
            var container = published.Single<V1Deployment>(name).Spec.Template.Spec.Containers[0];
            Assert.Equal(["http"], container.Ports.Select(p => p.Name));
            Assert.DoesNotContain(EnvironmentOf(published, container).Keys, k => k.EndsWith("__GrpcPort", StringComparison.Ordinal));
        }

        var inference = published.Single<V1Deployment>("inference").Spec.Template.Spec;
        Assert.Equal("/health", inference.Containers[0].StartupProbe.HttpGet.Path);
        Assert.Equal("/models", inference.Containers[0].VolumeMounts.Single(m => m.Name == "models").MountPath);
        var copier = Assert.Single(inference.InitContainers);
        Assert.Equal("localhost:5000/mlplatform-models:latest", copier.Image);
    }

    [Fact]
    public void Publish_ConfigMaps_ClusterAddressesAndThePublishedModelRepository()
    {
        using var published = PublishedManifests.Publish(models.TwoGateways);

        var gateway = published.Single<V1ConfigMap>("gateway-settings").Data;
        Assert.Equal("http://inference:8080", gateway["services__inference__http__0"]);
        Assert.Equal("http://inference:8081", gateway["services__inference__grpc__0"]);
        Assert.Equal("8081", gateway["Gateway__GrpcPort"]);
        Assert.Equal("8090", gateway["Gateway__ManagementPort"]);
        Assert.DoesNotContain(published.OfType<V1ConfigMap>().Where(c => c.Metadata.Name != "gateway-settings"), c => c.Data.ContainsKey("Gateway__ManagementPort"));
        Assert.Equal("8081", published.Single<V1ConfigMap>("inference-settings").Data["Inference__GrpcPort"]);
        Assert.Equal("http://preprocessing:8080", gateway["services__preprocessing__http__0"]);
        Assert.Equal("http://postprocessing:8080", gateway["services__postprocessing__http__0"]);
        Assert.Equal("http://inference:8080", published.Single<V1ConfigMap>("preprocessing-settings").Data["services__inference__http__0"]);
        Assert.Equal("http://inference:8080", published.Single<V1ConfigMap>("postprocessing-settings").Data["services__inference__http__0"]);
        Assert.Equal("/models", published.Single<V1ConfigMap>("inference-settings").Data["Inference__ModelRepository"]);
        Assert.DoesNotContain(published.OfType<V1ConfigMap>().Where(c => c.Metadata.Name != "inference-settings"), c => c.Data.ContainsKey("Inference__ModelRepository"));
    }

    [Fact]
    public void Publish_EveryDocument_NoLocalRunSettingsOrLoopbackAddresses()
    {
        using var published = PublishedManifests.Publish(models.TwoGateways);

        foreach (var (file, text) in published.Documents)
        {
            Assert.DoesNotContain("OTEL_EXPORTER_OTLP_", text, StringComparison.Ordinal);
            Assert.DoesNotContain("ASPNETCORE_URLS", text, StringComparison.Ordinal);
            Assert.False(text.Contains(AppHostSettings.RepositoryRoot.TrimEnd('/'), StringComparison.Ordinal), $"{file} names a path of this machine");
        }

        // What a local run or Aspire's own publishers set stays out; the cluster's settings are the publisher's own.
        var keys = published.OfType<V1ConfigMap>().SelectMany(c => c.Data.Keys)
            .Concat(published.OfType<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.Containers).SelectMany(c => c.Env ?? []).Select(e => e.Name))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(["OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME"], keys.Where(k => k.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)).Order());
        Assert.Equal(["ASPNETCORE_FORWARDEDHEADERS_ENABLED"], keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)));
        Assert.DoesNotContain(keys, k => k.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase));

        // The default registry is localhost:5000: only the images may name this machine.
        var values = published.OfType<V1ConfigMap>().SelectMany(c => c.Data.Values)
            .Concat(published.OfType<V1Secret>().SelectMany(s => s.StringData?.Values ?? []))
            .Concat(published.OfType<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.Containers).SelectMany(c => c.Env ?? []).Select(e => e.Value ?? ""));
        foreach (var value in values)
        {
            Assert.DoesNotContain("localhost", value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("127.0.0.1", value, StringComparison.Ordinal);
            Assert.DoesNotContain("[::1]", value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Publish_Services_SelectThePodsOfTheirDeployment()
    {
        using var published = PublishedManifests.Publish(models.TwoGateways);

        foreach (var service in published.OfType<V1Service>())
        {
            var deployment = published.Single<V1Deployment>(service.Metadata.Name);
            Assert.Equal("ClusterIP", service.Spec.Type);
            Assert.True(Selects(service.Spec.Selector, deployment.Spec.Template.Metadata.Labels), service.Metadata.Name);
            Assert.True(Selects(deployment.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels), service.Metadata.Name);
            var containerPorts = deployment.Spec.Template.Spec.Containers[0].Ports;
            Assert.Equal(containerPorts.Select(p => p.Name), service.Spec.Ports.Select(p => p.TargetPort.Value));
            foreach (var port in service.Spec.Ports)
            {
                Assert.Equal(port.Port, Assert.Single(containerPorts, p => p.Name == port.TargetPort.Value).ContainerPort);
                // A mesh or Ingress controller that reads appProtocol speaks HTTP/2 without TLS to the gRPC ports.
                Assert.Equal(port.Name == "grpc" ? "kubernetes.io/h2c" : null, port.AppProtocol);
            }
        }

        Assert.Equal(["http", "grpc"], published.Single<V1Service>("inference").Spec.Ports.Select(p => p.Name));
        Assert.Equal(["http", "grpc", "management"], published.Single<V1Service>("gateway").Spec.Ports.Select(p => p.Name));
        Assert.Equal(["http"], published.Single<V1Service>("preprocessing").Spec.Ports.Select(p => p.Name));

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
            models.Default,
            folder => new PublishOptions { Output = folder, Host = "ml.example.com", TlsSecret = "ml-tls", IngressClass = "traefik" });

        var ingress = published.Single<V1Ingress>("gateway");
        Assert.Equal("traefik", ingress.Spec.IngressClassName);
        var tls = Assert.Single(ingress.Spec.Tls);
        Assert.Equal("ml-tls", tls.SecretName);
        Assert.Equal(["ml.example.com"], tls.Hosts);
        var rule = Assert.Single(ingress.Spec.Rules);
        Assert.Equal("ml.example.com", rule.Host);
        var backend = Assert.Single(rule.Http.Paths).Backend.Service;
        Assert.Equal("gateway", backend.Name);
        Assert.True(published.Model.Services.Single(s => s.Name == backend.Name).IsGateway);
        var gateway = published.Single<V1Service>(backend.Name);
        Assert.Contains(gateway.Spec.Ports, p => p.Port == backend.Port.Number);
        // Only ingress-nginx reads the body size annotation.
        Assert.Null(ingress.Metadata.Annotations);

        // The gRPC route on the same host, behind the same certificate.
        var grpc = published.Single<V1Ingress>("gateway-grpc");
        Assert.Equal("traefik", grpc.Spec.IngressClassName);
        Assert.Equal(["ml.example.com"], Assert.Single(grpc.Spec.Tls).Hosts);
        Assert.Equal("ml-tls", grpc.Spec.Tls[0].SecretName);
        Assert.Equal("ml.example.com", Assert.Single(grpc.Spec.Rules).Host);
        Assert.Null(grpc.Metadata.Annotations);
    }

    [Fact]
    public void Publish_DefaultIngress_NginxAnyHostNoTls()
    {
        using var published = PublishedManifests.Publish(models.Default);

        var ingress = published.Single<V1Ingress>("gateway");
        Assert.Equal("nginx", ingress.Spec.IngressClassName);
        Assert.Null(ingress.Spec.Tls);
        Assert.Null(Assert.Single(ingress.Spec.Rules).Host);
        Assert.EndsWith("m", ingress.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"], StringComparison.Ordinal);
        Assert.False(ingress.Metadata.Annotations.ContainsKey("nginx.ingress.kubernetes.io/backend-protocol"));
        var path = Assert.Single(ingress.Spec.Rules[0].Http.Paths);
        Assert.Equal(("/", "Prefix", HttpPort), (path.Path, path.PathType, path.Backend.Service.Port.Number));
    }

    [Fact]
    public async Task Publish_DefaultModel_ASecondIngressRoutesTheGrpcServiceToTheGatewaysGrpcPortAsGrpc()
    {
        using var published = PublishedManifests.Publish(models.Default);

        Assert.Equal(["gateway", "gateway-grpc"], published.OfType<V1Ingress>().Select(i => i.Metadata.Name).Order());
        var rest = published.Single<V1Ingress>("gateway");
        var grpc = published.Single<V1Ingress>("gateway-grpc");
        Assert.Equal("GRPC", grpc.Metadata.Annotations["nginx.ingress.kubernetes.io/backend-protocol"]);
        Assert.Equal(rest.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"], grpc.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]);
        Assert.Equal("nginx", grpc.Spec.IngressClassName);
        Assert.Null(grpc.Spec.Tls);
        var rule = Assert.Single(grpc.Spec.Rules);
        Assert.Null(rule.Host);
        var path = Assert.Single(rule.Http.Paths);
        Assert.Equal(("/inference.GRPCInferenceService", "Prefix"), (path.Path, path.PathType));
        Assert.Equal("gateway", path.Backend.Service.Name);
        Assert.Equal(GrpcPort, path.Backend.Service.Port.Number);
        // The port is the gateway Service's gRPC port, which its pods listen on under that name.
        Assert.Equal("grpc", Assert.Single(published.Single<V1Service>("gateway").Spec.Ports, p => p.Port == GrpcPort).Name);
        Assert.Equal(rest.Metadata.Labels, grpc.Metadata.Labels);
        // Both in one file, which kubectl builds.
        Assert.Contains("name: gateway-grpc", published.Documents["ingress.yaml"], StringComparison.Ordinal);
        var kustomized = await published.KustomizeAsync();
        Assert.True(kustomized.ExitCode == 0, kustomized.ToString());
        Assert.Contains("nginx.ingress.kubernetes.io/backend-protocol: GRPC", kustomized.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Publish_Dockerfiles_ExposeEveryPortOfTheirService()
    {
        using var published = PublishedManifests.Publish(models.Default);

        foreach (var service in models.Default.Services)
        {
            var dockerfile = File.ReadAllText(Path.Combine(published.Folder, "docker", $"{service.Name}.Dockerfile"));
            var expose = Assert.Single(dockerfile.Split('\n'), line => line.StartsWith("EXPOSE ", StringComparison.Ordinal));
            Assert.Equal(service.Endpoints.Select(e => e.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), expose["EXPOSE ".Length..].Split(' '));
        }

        Assert.Contains("EXPOSE 8080 8081", File.ReadAllText(Path.Combine(published.Folder, "docker", "inference.Dockerfile")), StringComparison.Ordinal);
        Assert.Contains("EXPOSE 8080\n", File.ReadAllText(Path.Combine(published.Folder, "docker", "preprocessing.Dockerfile")), StringComparison.Ordinal);
    }

    [Fact]
    public void Publish_NetworkPolicies_SelectThePodsAndAdmitOnlyTheirCallers()
    {
        var model = models.TwoGateways;
        // Without the metrics rule, which Publish_NetworkPolicies_AdmitTheMetricsNamespaceToEveryService covers.
        using var published = PublishedManifests.Publish(model, folder => new PublishOptions { Output = folder, MetricsNamespace = null });
        var podLabels = published.OfType<V1Deployment>().ToDictionary(d => d.Metadata.Name, d => d.Spec.Template.Metadata.Labels);

        foreach (var policy in published.OfType<V1NetworkPolicy>())
        {
            var selected = podLabels.Where(p => Selects(policy.Spec.PodSelector.MatchLabels, p.Value)).Select(p => p.Key);
            Assert.Equal([policy.Metadata.Name], selected);
            Assert.Equal(["Ingress"], policy.Spec.PolicyTypes);
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
            // Every port the service has, gRPC's too, but the gateway's management port; Redis its own.
            var ports = policy.Metadata.Name == "redis"
                ? ["6379"]
                : published.Single<V1Service>(policy.Metadata.Name).Spec.Ports.Where(p => p.Name != "management")
                    .Select(p => p.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(ports, rule.Ports.Select(p => p.Port.Value));
        }

        Assert.Equal(["gateway", "postprocessing", "preprocessing"], published.Single<V1NetworkPolicy>("inference").Spec.Ingress[0].FromProperty
            .SelectMany(p => podLabels.Where(l => Selects(p.PodSelector.MatchLabels, l.Value)).Select(l => l.Key)).Order());
        var gatewayPeer = Assert.Single(Assert.Single(published.Single<V1NetworkPolicy>("gateway").Spec.Ingress).FromProperty);
        Assert.Equal("ingress-nginx", gatewayPeer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        Assert.Equal(podLabels.Keys.Order(), published.OfType<V1NetworkPolicy>().Select(p => p.Metadata.Name).Order());
    }

    [Fact]
    public void Publish_NetworkPolicies_AdmitTheMetricsNamespaceToEveryService()
    {
        var model = models.TwoGateways;
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
            Assert.Equal(service.IsGateway ? "8090" : "8080", port.Port.Value);
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
        Assert.DoesNotContain(
            withoutMetrics.OfType<V1NetworkPolicy>().SelectMany(p => p.Spec.Ingress).SelectMany(r => r.FromProperty),
            p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == "monitoring");
    }

    [Fact]
    public async Task Publish_MetricsNamespaceOption_SelectsThatNamespace()
    {
        using var published = PublishedManifests.Publish(models.Default, folder => new PublishOptions { Output = folder, MetricsNamespace = "observability" });

        foreach (var policy in published.OfType<V1NetworkPolicy>())
        {
            Assert.Contains(policy.Spec.Ingress, r => r.FromProperty.Any(p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == "observability"));
        }

        var kustomized = await published.KustomizeAsync();
        Assert.True(kustomized.ExitCode == 0, kustomized.ToString());
    }

    [Fact]
    public async Task Publish_Gateway_ProbesScrapeAndMetricsNamespaceOnTheManagementPortIngressNever()
    {
        using var published = PublishedManifests.Publish(models.TwoGateways);

        // The container listens on it under its name, the gateway's own setting names the same port, and the Service exposes it.
        var deployment = published.Single<V1Deployment>("gateway");
        var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
        Assert.Equal(ManagementPort, Assert.Single(container.Ports, p => p.Name == "management").ContainerPort);
        Assert.Equal("8090", EnvironmentOf(published, container)["Gateway__ManagementPort"]);
        var servicePort = Assert.Single(published.Single<V1Service>("gateway").Spec.Ports, p => p.Name == "management");
        Assert.Equal((ManagementPort, "management", (string?)null), (servicePort.Port, servicePort.TargetPort.Value, servicePort.AppProtocol));

        // Probes and Prometheus go there.
        Assert.Equal(("/health", "management"), (container.ReadinessProbe.HttpGet.Path, container.ReadinessProbe.HttpGet.Port.Value));
        Assert.Equal(("/alive", "management"), (container.LivenessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Port.Value));
        Assert.Null(container.StartupProbe);
        var annotations = deployment.Spec.Template.Metadata.Annotations;
        Assert.Equal(("true", "8090", "/metrics"), (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]));

        // The Ingress controller's namespace reaches the public ports, the metrics namespace the management port, and nothing else either.
        var rules = published.Single<V1NetworkPolicy>("gateway").Spec.Ingress;
        Assert.Equal(2, rules.Count);
        var ingressRule = Assert.Single(rules, r => r.FromProperty.Any(p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == "ingress-nginx"));
        Assert.Equal(["8080", "8081"], ingressRule.Ports.Select(p => p.Port.Value));
        var ingressPeer = Assert.Single(ingressRule.FromProperty);
        Assert.Null(ingressPeer.PodSelector);
        var metricsRule = Assert.Single(rules, r => r.FromProperty.Any(p => p.NamespaceSelector?.MatchLabels["kubernetes.io/metadata.name"] == "monitoring"));
        Assert.Equal(["8090"], metricsRule.Ports.Select(p => p.Port.Value));
        Assert.Null(Assert.Single(metricsRule.FromProperty).PodSelector);

        // The Ingresses name the public ports only.
        var backends = published.OfType<V1Ingress>().SelectMany(i => i.Spec.Rules).SelectMany(r => r.Http.Paths).Select(p => p.Backend.Service).ToList();
        Assert.Equal([HttpPort, GrpcPort], backends.Select(b => b.Port.Number ?? 0).Order());
        Assert.All(backends, b => Assert.Equal("gateway", b.Name));
        Assert.DoesNotContain(backends, b => b.Port.Name == "management" || b.Port.Number == ManagementPort);

        // The other services keep theirs beside their API.
        foreach (var name in new[] { "inference", "preprocessing", "postprocessing" })
        {
            var other = published.Single<V1Deployment>(name);
            Assert.DoesNotContain(other.Spec.Template.Spec.Containers[0].Ports, p => p.Name == "management");
            Assert.Equal("http", other.Spec.Template.Spec.Containers[0].ReadinessProbe.HttpGet.Port.Value);
            Assert.Equal("8080", other.Spec.Template.Metadata.Annotations["prometheus.io/port"]);
        }

        var dockerfile = File.ReadAllText(Path.Combine(published.Folder, "docker", "gateway.Dockerfile"));
        Assert.Contains("EXPOSE 8080 8081 8090\n", dockerfile, StringComparison.Ordinal);
        var kustomized = await published.KustomizeAsync();
        Assert.True(kustomized.ExitCode == 0, kustomized.ToString());
    }

    [Fact]
    public void Publish_NoMetricsNamespace_NothingButTheKubeletReachesTheGatewaysManagementPort()
    {
        using var published = PublishedManifests.Publish(models.Default, folder => new PublishOptions { Output = folder, MetricsNamespace = null });

        var rule = Assert.Single(published.Single<V1NetworkPolicy>("gateway").Spec.Ingress);
        Assert.Equal(["8080", "8081"], rule.Ports.Select(p => p.Port.Value));
        // Probes still reach it: the kubelet's own traffic to the pods of its node is not subject to NetworkPolicy.
        Assert.Equal("management", published.Single<V1Deployment>("gateway").Spec.Template.Spec.Containers[0].ReadinessProbe.HttpGet.Port.Value);
    }

    [Fact]
    public void Publish_DefaultModel_HasNoRedis()
    {
        using var published = PublishedManifests.Publish(models.Default);

        Assert.Empty(models.Default.Executables);
        Assert.DoesNotContain(published.Objects.OfType<IKubernetesObject<V1ObjectMeta>>(), o => o.Metadata.Name == "redis");
        var secret = published.Single<V1Secret>("gateway-secrets");
        Assert.False(secret.StringData?.ContainsKey("ConnectionStrings__redis") ?? false);
        Assert.False(published.Single<V1ConfigMap>("gateway-settings").Data.ContainsKey("Gateway__RateLimiting__Policy"));
        // Gateways that count on their own may not scale out: each would let the whole limit through.
        Assert.Equal(1, published.Single<V2HorizontalPodAutoscaler>("gateway").Spec.MaxReplicas);
    }

    [Fact]
    public void Publish_GatewayTwoReplicas_RedisDeploymentServiceAndConnectionSecret()
    {
        using var published = PublishedManifests.Publish(models.TwoGateways);

        var redis = published.Single<V1Deployment>("redis");
        Assert.Equal(1, redis.Spec.Replicas);
        var container = Assert.Single(redis.Spec.Template.Spec.Containers);
        Assert.StartsWith("redis:", container.Image, StringComparison.Ordinal);
        Assert.True(redis.Spec.Template.Spec.SecurityContext.RunAsNonRoot);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(6379, Assert.Single(published.Single<V1Service>("redis").Spec.Ports).Port);
        Assert.Equal("redis:6379", published.Single<V1Secret>("gateway-secrets").StringData["ConnectionStrings__redis"]);
        Assert.Equal("redis", published.Single<V1ConfigMap>("gateway-settings").Data["Gateway__RateLimiting__Policy"]);
        Assert.Equal(6, published.Single<V2HorizontalPodAutoscaler>("gateway").Spec.MaxReplicas);
        Assert.DoesNotContain(published.OfType<V1Secret>(), s => s.Metadata.Name != "gateway-secrets");
    }

    [Fact]
    public void Read_RedisPolicyWithOneGateway_GatewayConnectsToRedis()
    {
        var gateway = models.RedisPolicy.Services.Single(s => s.IsGateway);

        Assert.Equal("gateway", gateway.Name);
        Assert.Equal(1, gateway.Replicas);
        var redis = Assert.Single(gateway.Connections);
        Assert.Equal(new PublishedExecutable("redis", 6379, "redis:7-alpine"), redis);
        Assert.Equal([redis], models.RedisPolicy.Executables);
        Assert.All(models.RedisPolicy.Services.Where(s => !s.IsGateway), s => Assert.Empty(s.Connections));
    }

    [Fact]
    public void Read_Services_DependenciesFirstGatewayLast()
    {
        var order = models.Default.Services.Select(s => s.Name).ToList();

        Assert.Equal("inference", order[0]);
        Assert.Equal("gateway", order[^1]);
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
