using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Execution;

/// <summary>Checks a parsed request against the model's graph, so nothing a client sends reaches ONNX Runtime malformed.</summary>
internal static class InferenceRequestValidator
{
    /// <returns>The job to run, or null with <paramref name="error"/> naming what is wrong.</returns>
    public static InferenceJob? Validate(ServedModel model, InferenceRequest request, out string? error)
    {
        var inputs = new InferenceTensor[model.Inputs.Count];
        var batchSize = model.IsBatched ? -1 : 1;

        for (var r = 0; r < request.Inputs.Count; r++)
        {
            var input = request.Inputs[r];
            var index = IndexOf(model.Inputs, input.Name);
            if (index < 0)
            {
                error = $"inputs[{r}].name: unknown input '{input.Name}'; model '{model.Name}' has inputs {Names(model.Inputs)}";
                return null;
            }

            if (inputs[index] is not null)
            {
                error = $"inputs[{r}].name: input '{input.Name}' is given twice";
                return null;
            }

            var spec = model.Inputs[index];
            if (input.DataType != spec.DataType)
            {
                error = $"inputs[{r}].datatype: input '{input.Name}' of model '{model.Name}' is {spec.DataType.ProtocolName}, not {input.DataType.ProtocolName}";
                return null;
            }

            if (!ShapeMatches(spec.Shape, input.Shape))
            {
                error = $"inputs[{r}].shape: {TensorShape.Format(input.Shape)} does not fit input '{input.Name}' of model '{model.Name}', whose shape is {TensorShape.Format(spec.Shape)} (-1 is any size)";
                return null;
            }

            if (model.IsBatched)
            {
                var batch = input.Shape[0];
                if (batch < 1 || batch > model.Config.MaxBatchSize)
                {
                    error = $"inputs[{r}].shape: batch size {batch} is outside 1..{model.Config.MaxBatchSize} (max_batch_size of model '{model.Name}')";
                    return null;
                }

                if (batchSize >= 0 && batch != batchSize)
                {
                    error = $"inputs[{r}].shape: batch size {batch} differs from the other inputs' {batchSize}; every input needs the same first dimension";
                    return null;
                }

                batchSize = (int)batch;
            }

            inputs[index] = input;
        }

        for (var i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null)
            {
                error = $"inputs: input '{model.Inputs[i].Name}' of model '{model.Name}' is missing; the model needs {Names(model.Inputs)}";
                return null;
            }
        }

        string[] outputNames;
        if (request.Outputs is null or { Count: 0 })
        {
            outputNames = [.. model.OutputNames];
        }
        else
        {
            outputNames = new string[request.Outputs.Count];
            for (var o = 0; o < outputNames.Length; o++)
            {
                var name = request.Outputs[o].Name;
                if (IndexOf(model.Outputs, name) < 0)
                {
                    error = $"outputs[{o}].name: unknown output '{name}'; model '{model.Name}' has outputs {Names(model.Outputs)}";
                    return null;
                }

                if (Array.IndexOf(outputNames, name, 0, o) >= 0)
                {
                    error = $"outputs[{o}].name: output '{name}' is asked for twice";
                    return null;
                }

                outputNames[o] = name;
            }
        }

        error = null;
        return new InferenceJob(model, request, inputs, outputNames, Math.Max(batchSize, 1));
    }

    private static bool ShapeMatches(long[] expected, long[] actual)
    {
        if (expected.Length != actual.Length)
        {
            return false;
        }

        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] >= 0 && expected[i] != actual[i])
            {
                return false;
            }
        }

        return true;
    }

    private static int IndexOf(IReadOnlyList<TensorSpec> specs, string name)
    {
        for (var i = 0; i < specs.Count; i++)
        {
            if (specs[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Names(IReadOnlyList<TensorSpec> specs) => string.Join(", ", specs.Select(spec => $"'{spec.Name}'"));
}
