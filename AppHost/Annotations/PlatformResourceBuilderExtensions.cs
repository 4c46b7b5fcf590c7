using MlPlatform.AppHost.Annotations;

namespace Aspire.Hosting;

/// <summary>What MlPlatform's resources declare beyond Aspire's own annotations; the Kubernetes publisher reads it.</summary>
public static class PlatformResourceBuilderExtensions
{
    public static IResourceBuilder<T> WithComputeResources<T>(this IResourceBuilder<T> builder, ComputeResources compute)
        where T : IResource =>
        builder.WithAnnotation(compute, ResourceAnnotationMutationBehavior.Replace);

    /// <summary>
    /// Health as Kubernetes probes it and as <c>WaitFor</c> waits for it: ready when <c>/health</c> passes (Aspire's
    /// readiness probe is also the resource's HTTP health check), alive while <c>/alive</c> does and, for a service
    /// that may take long to start (loading models), a startup probe that allows <paramref name="startupWithin"/>
    /// before liveness counts. All on <paramref name="endpointName"/>: the gateway serves them on its management
    /// endpoint alone, every other service on its <c>http</c> endpoint.
    /// </summary>
    public static IResourceBuilder<T> WithHealthProbes<T>(this IResourceBuilder<T> builder, TimeSpan? startupWithin = null, string endpointName = "http")
        where T : IResourceWithEndpoints, IResourceWithProbes
    {
        const int ProbeTimeoutSeconds = 3;
        builder.WithHttpProbe(ProbeType.Readiness, "/health", periodSeconds: 5, timeoutSeconds: ProbeTimeoutSeconds, failureThreshold: 3, endpointName: endpointName)
            .WithHttpProbe(ProbeType.Liveness, "/alive", periodSeconds: 10, timeoutSeconds: ProbeTimeoutSeconds, failureThreshold: 3, endpointName: endpointName);
        if (startupWithin is { } upTo)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(upTo, TimeSpan.Zero);
            // As an annotation, not WithHttpProbe: that would register /health as a health check a second time.
            builder.WithAnnotation(new EndpointProbeAnnotation
            {
                Type = ProbeType.Startup,
                EndpointReference = builder.Resource.GetEndpoint(endpointName),
                Path = "/health",
                PeriodSeconds = 5,
                TimeoutSeconds = ProbeTimeoutSeconds,
                FailureThreshold = (int)Math.Ceiling(upTo.TotalSeconds / 5),
                SuccessThreshold = 1,
            });
        }

        return builder;
    }

    /// <summary>Serves the model repository at <paramref name="localPath"/> here, and at <c>/models</c> in a cluster.</summary>
    public static IResourceBuilder<T> WithModelRepository<T>(this IResourceBuilder<T> builder, string localPath)
        where T : IResourceWithEnvironment
    {
        builder.WithAnnotation(new ModelRepositoryAnnotation(localPath), ResourceAnnotationMutationBehavior.Replace);
        return builder.WithEnvironment(context => context.EnvironmentVariables[ModelRepositoryAnnotation.EnvironmentVariable] =
            context.ExecutionContext.IsPublishMode ? ModelRepositoryAnnotation.PublishedPath : localPath);
    }

    /// <summary>Configures the gateway's traffic by the kong.yml at <paramref name="localPath"/>, when there is one (else by its settings).</summary>
    public static IResourceBuilder<T> WithDeclarativeConfig<T>(this IResourceBuilder<T> builder, string? localPath)
        where T : IResourceWithEnvironment
    {
        if (localPath is null)
        {
            return builder;
        }

        builder.WithAnnotation(new DeclarativeConfigAnnotation(localPath), ResourceAnnotationMutationBehavior.Replace);
        return builder.WithEnvironment(context => context.EnvironmentVariables[DeclarativeConfigAnnotation.EnvironmentVariable] =
            context.ExecutionContext.IsPublishMode ? DeclarativeConfigAnnotation.PublishedPath : localPath);
    }

    public static IResourceBuilder<T> AsGateway<T>(this IResourceBuilder<T> builder)
        where T : IResource =>
        builder.WithAnnotation(new GatewayRoleAnnotation(), ResourceAnnotationMutationBehavior.Replace);

    public static bool IsGateway(this IResource resource) => resource.Annotations.OfType<GatewayRoleAnnotation>().Any();
}
