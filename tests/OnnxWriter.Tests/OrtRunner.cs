using Microsoft.ML.OnnxRuntime;

namespace MlPlatform.OnnxWriter.Tests;

/// <summary>Loads model bytes into ONNX Runtime and runs them with named inputs.</summary>
internal sealed class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly List<OrtValue> _inputs = [];
    private readonly Dictionary<string, OrtValue> _namedInputs = new(StringComparer.Ordinal);

    public OrtRunner(byte[] model)
    {
        _session = new InferenceSession(model);
    }

    public InferenceSession Session => _session;

    public OrtRunner With(string name, OrtValue value)
    {
        _inputs.Add(value);
        _namedInputs.Add(name, value);
        return this;
    }

    public OrtRunner WithFloats(string name, float[] values, params long[] shape) =>
        With(name, OrtValue.CreateTensorValueFromMemory(values, shape));

    public IDisposableReadOnlyCollection<OrtValue> Run(params string[] outputs)
    {
        using var options = new RunOptions();
        return _session.Run(options, _namedInputs, outputs);
    }

    public void Dispose()
    {
        foreach (var input in _inputs)
        {
            input.Dispose();
        }

        _session.Dispose();
    }
}
