using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MlPlatform.Inference.Repository;

/// <summary>Ready once every model is loaded and warmed up; <c>/health</c> and <c>/v2/health/ready</c> both follow it.</summary>
internal sealed class ModelsReadyHealthCheck(ModelRepository repository) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(repository.IsReady
            ? HealthCheckResult.Healthy($"{repository.Models.Count} models ready")
            : HealthCheckResult.Unhealthy("models are still loading"));
}
