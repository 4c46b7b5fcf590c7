using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Statistics;

namespace MlPlatform.Inference.Execution;

/// <summary>An input or output of a model graph. -1 marks a dynamic dimension.</summary>
internal sealed record TensorSpec(string Name, TensorDataType DataType, TensorElementType ElementType, long[] Shape)
{
    public TensorMetadata ToMetadata() => new(Name, DataType.ProtocolName, Shape);
}

/// <summary>One version of one model, with its ONNX Runtime session.</summary>
internal sealed class ServedModel : IDisposable
{
    private readonly InferenceSession _session;

    /// <param name="session">Owned from here on: disposed with the model.</param>
    public ServedModel(string name, ModelConfig config, long version, InferenceSession session, TensorSpec[] inputs, TensorSpec[] outputs)
    {
        Name = name;
        Config = config;
        Version = version;
        VersionText = version.ToString(CultureInfo.InvariantCulture);
        _session = session;
        Inputs = inputs;
        Outputs = outputs;
        OutputNames = Array.ConvertAll(outputs, output => output.Name);
        Statistics = new ModelVersionStatistics(config.MaxBatchSize);
    }

    public string Name { get; }

    public ModelConfig Config { get; }

    public long Version { get; }

    public string VersionText { get; }

    public IReadOnlyList<TensorSpec> Inputs { get; }

    public IReadOnlyList<TensorSpec> Outputs { get; }

    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Whether requests are queued and merged along the first dimension.</summary>
    public bool IsBatched => Config.MaxBatchSize > 0;

    public InferenceSession Session => _session;

    /// <summary>Shared by every run of this model: options are read-only once set, and ONNX Runtime requires an instance.</summary>
    public RunOptions RunOptions { get; } = new();

    /// <summary>What this version has run since it was loaded; unloading the version drops them with it.</summary>
    public ModelVersionStatistics Statistics { get; }

    public ModelMetadataResponse ToMetadata(IReadOnlyList<string> versions) => new(
        Name,
        versions,
        Config.Platform,
        Inputs.Select(input => input.ToMetadata()).ToArray(),
        Outputs.Select(output => output.ToMetadata()).ToArray());

    public void Dispose()
    {
        _session.Dispose();
        RunOptions.Dispose();
    }
}
