using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost.Publishing;

/// <summary>The <c>publish</c> verb: options, the model, the files, and a summary of what to do next.</summary>
internal static class PublishCommand
{
    /// <summary>Exit code for input the user must fix; nothing has been written.</summary>
    public const int BadInput = 2;

    public static int Run(IReadOnlyList<string> args)
    {
        var (options, settings, errors) = PublishOptions.Parse(args);
        if (options is null || errors.Count > 0)
        {
            return Refuse(errors);
        }

        ApplicationModel model;
        try
        {
            var configuration = AppHostConfiguration.Build([.. settings]);
            model = MlPlatformApplication.Describe(configuration, ServiceManifests.ModelRepositoryPath);
        }
        catch (ArgumentException exception)
        {
            return Refuse([exception.Message.Split(" (Parameter", 2)[0]]);
        }

        var publisher = new KubernetesPublisher(model, options);
        if (publisher.CheckOutput() is { } outputProblem)
        {
            return Refuse([outputProblem]);
        }

        ManifestSet written;
        try
        {
            written = publisher.Write();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Could not write {options.Output}: {exception.Message}. Nothing was written.");
            return 1;
        }

        PrintSummary(model, options, written);
        return 0;
    }

    private static int Refuse(IEnumerable<string> errors)
    {
        foreach (var error in errors)
        {
            Console.Error.WriteLine($"error: {error}");
        }

        Console.Error.WriteLine(PublishOptions.Usage);
        Console.Error.WriteLine("Nothing was written.");
        return BadInput;
    }

    private static void PrintSummary(ApplicationModel model, PublishOptions options, ManifestSet written)
    {
        var output = Path.GetFullPath(options.Output);
        Console.WriteLine($"Wrote {written.Files.Count} files to {output}:");
        foreach (var resource in written.Resources)
        {
            Console.WriteLine($"  {resource}");
        }

        Console.WriteLine($"  kustomization.yaml, docker/*.Dockerfile");
        Console.WriteLine();
        var scheme = options.TlsSecret is null ? "http" : "https";
        Console.WriteLine(options.Host is null
            ? $"Entry: http://<address of the Ingress>/  (kubectl get ingress -n {options.Namespace} gateway)"
            : $"Entry: {scheme}://{options.Host}/");
        Console.WriteLine(options.MetricsNamespace is null
            ? "Metrics: no namespace may scrape /metrics (--metrics-namespace <ns> lets one in)"
            : $"Metrics: pods in namespace '{options.MetricsNamespace}' may scrape /metrics on port {ServiceManifests.HttpPort} (--metrics-namespace none turns this off)");
        Console.WriteLine();
        Console.WriteLine("Build and push the images (from the repository root):");
        var images = model.Services.Select(s => s.Name).ToList();
        if (written.Files.Any(f => f.Path == Dockerfiles.FileName("models")))
        {
            images.Add("models");
        }

        // Short when the folder is inside the repository, absolute otherwise.
        var relative = Path.GetRelativePath(Running.BuildLayout.Root, output);
        relative = relative.StartsWith("..", StringComparison.Ordinal) ? output : relative;
        foreach (var image in images)
        {
            var tag = ServiceManifests.Image(options, image);
            Console.WriteLine($"  docker build -f {Path.Combine(relative, Dockerfiles.FileName(image))} -t {tag} . && docker push {tag}");
        }

        foreach (var executable in model.Executables)
        {
            Console.WriteLine($"  ({executable.Name} runs from the public image {executable.Image})");
        }

        Console.WriteLine();
        Console.WriteLine("Deploy:");
        Console.WriteLine($"  kubectl apply -k {relative}");
    }
}
