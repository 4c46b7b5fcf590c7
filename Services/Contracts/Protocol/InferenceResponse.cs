using System.Text.Json;

namespace MlPlatform.Contracts.Protocol;

/// <summary>An inference response of the Open Inference Protocol.</summary>
public sealed class InferenceResponse : IDisposable
{
    private IDisposable? _resources;

    public required string ModelName { get; init; }

    public string? ModelVersion { get; init; }

    public string? Id { get; init; }

    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    public required IReadOnlyList<InferenceTensor> Outputs { get; init; }

    /// <summary>Whatever holds the output buffers (pooled arrays, native tensors); disposed with the response.</summary>
    public IDisposable? Resources
    {
        get => _resources;
        init => _resources = value;
    }

    public void Dispose() => Interlocked.Exchange(ref _resources, null)?.Dispose();
}
