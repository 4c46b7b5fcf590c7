using System.Text.Json;

namespace MlPlatform.Contracts.Protocol;

/// <summary>An inference request of the Open Inference Protocol.</summary>
/// <remarks>
/// Dispose it when done: tensors parsed from JSON live in pooled buffers it owns. Tensors read from
/// a binary body point into that body, which the caller keeps alive for as long as the request.
/// </remarks>
public sealed class InferenceRequest : IDisposable
{
    private IDisposable? _resources;

    public string? Id { get; init; }

    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    public required IReadOnlyList<InferenceTensor> Inputs { get; init; }

    /// <summary>The outputs asked for, or null for all of them.</summary>
    public IReadOnlyList<RequestedOutput>? Outputs { get; init; }

    /// <summary>Buffers the request owns and returns on dispose.</summary>
    public IDisposable? Resources
    {
        get => _resources;
        init => _resources = value;
    }

    /// <summary>The request-level <c>binary_data_output</c> parameter.</summary>
    public bool BinaryDataOutput =>
        Parameters is not null && Parameters.TryGetValue(ProtocolParameters.BinaryDataOutput, out var value)
            && value.ValueKind == JsonValueKind.True;

    /// <summary>
    /// Whether an output goes back as binary: the output's own <c>binary_data</c> parameter when it
    /// has one, otherwise the request's <c>binary_data_output</c>.
    /// </summary>
    public bool WantsBinary(string outputName)
    {
        if (Outputs is not null)
        {
            foreach (var output in Outputs)
            {
                if (output.Name == outputName && output.BinaryData is { } binary)
                {
                    return binary;
                }
            }
        }

        return BinaryDataOutput;
    }

    public void Dispose() => Interlocked.Exchange(ref _resources, null)?.Dispose();
}
