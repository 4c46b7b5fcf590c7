namespace MlPlatform.AppHost.Model;

/// <summary>CPU and memory per replica in Kubernetes quantities (<c>250m</c>, <c>512Mi</c>): requests are reserved, limits enforced.</summary>
public sealed record ComputeResources(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit);
