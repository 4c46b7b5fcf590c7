using System.Text;
using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MlPlatform.AppHost.Publishing;

/// <summary>
/// The <c>publish-kubernetes</c> step of Aspire's publish pipeline: <c>dotnet aspire publish -o DIR</c> and
/// <c>dotnet run --project AppHost -- --operation publish --step publish-kubernetes --output-path DIR</c> write
/// the manifests of the same application model <c>run</c> starts. It needs no container runtime: it writes the
/// Dockerfiles and says how to build the images, rather than building them.
/// </summary>
internal static class KubernetesPublishStep
{
    public const string StepName = "publish-kubernetes";

    public static async Task RunAsync(PipelineStepContext context)
    {
        var configuration = context.Services.GetRequiredService<IConfiguration>();
        var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
        var (options, errors) = PublishOptions.Read(configuration, output);
        var model = await PublishedApplication.ReadAsync(context.Model, context.ExecutionContext, AppHostSettings.RepositoryRoot, context.CancellationToken).ConfigureAwait(false);
        var publisher = new KubernetesPublisher(model, options);
        if (errors.Count == 0 && KubernetesPublisher.CheckOutput(options) is { } outputProblem)
        {
            errors = [outputProblem];
        }

        if (errors.Count > 0)
        {
            throw new DistributedApplicationException($"Nothing was written: {string.Join(" ", errors)}");
        }

        ManifestSet written;
        try
        {
            written = publisher.Write();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new DistributedApplicationException($"Could not write {options.Output}: {exception.Message}. Nothing was written.", exception);
        }

        context.Logger.LogInformation("{Summary}", Summary(model, options, written));
        await context.ReportingStep.CompleteAsync($"Wrote {written.Files.Count} files to {Path.GetFullPath(options.Output)}", CompletionState.Completed, context.CancellationToken).ConfigureAwait(false);
    }

    private static string Summary(PublishedApplication model, PublishOptions options, ManifestSet written)
    {
        var text = new StringBuilder();
        var output = Path.GetFullPath(options.Output);
        text.AppendLine($"Wrote {written.Files.Count} files to {output}: {string.Join(", ", written.Resources)}, kustomization.yaml, docker/*.Dockerfile");
        var scheme = options.TlsSecret is null ? "http" : "https";
        text.AppendLine(options.Host is null
            ? $"Entry: http://<address of the Ingress>/  (kubectl get ingress -n {options.Namespace} gateway)"
            : $"Entry: {scheme}://{options.Host}/");
        text.AppendLine(options.MetricsNamespace is null
            ? "Metrics: no namespace may scrape /metrics (Publish:MetricsNamespace=<ns> lets one in)"
            : $"Metrics: pods in namespace '{options.MetricsNamespace}' may scrape /metrics on port {ServiceManifests.HttpPort}, the gateway's on its management port {PublishedApplication.ManagementPort} (Publish:MetricsNamespace=none turns this off)");
        text.AppendLine("Build and push the images (from the repository root):");
        var images = model.Services.Select(s => s.Name).ToList();
        if (written.Files.Any(f => f.Path == Dockerfiles.FileName("models")))
        {
            images.Add("models");
        }

        // Short when the folder is inside the repository, absolute otherwise.
        var relative = Path.GetRelativePath(AppHostSettings.RepositoryRoot, output);
        relative = relative.StartsWith("..", StringComparison.Ordinal) ? output : relative;
        foreach (var image in images)
        {
            var tag = ServiceManifests.Image(options, image);
            text.AppendLine($"  docker build -f {Path.Combine(relative, Dockerfiles.FileName(image))} -t {tag} . && docker push {tag}");
        }

        foreach (var executable in model.Executables)
        {
            text.AppendLine($"  ({executable.Name} runs from the public image {executable.Image})");
        }

        text.Append($"Deploy: kubectl apply -k {relative}");
        return text.ToString();
    }
}

public static class KubernetesPublishingExtensions
{
    /// <summary>Adds the step that writes Kubernetes manifests to the publish pipeline.</summary>
    public static IDistributedApplicationBuilder AddKubernetesPublishing(this IDistributedApplicationBuilder builder)
    {
        // Checked before the pipeline runs, so a bad option is one line, not a failed step with its stack trace.
        if (builder.ExecutionContext.IsPublishMode)
        {
            // Aspire's own default when no output path is given.
            var output = builder.Configuration["Pipeline:OutputPath"] ?? Path.Combine(builder.AppHostDirectory, "aspire-output");
            var (options, errors) = PublishOptions.Read(builder.Configuration, output);
            if (errors.Count == 0 && KubernetesPublisher.CheckOutput(options) is { } outputProblem)
            {
                errors = [outputProblem];
            }

            if (errors.Count > 0)
            {
                StartupProblems.Exit(errors, "Nothing was written.");
            }
        }

        builder.Pipeline.AddStep(KubernetesPublishStep.StepName, KubernetesPublishStep.RunAsync, requiredBy: WellKnownPipelineSteps.Publish);
        return builder;
    }
}
