using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlPlatform.Inference.Execution;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// Runs a model once on zeros before it is called ready, so the first real request does not pay
/// for ONNX Runtime's lazy allocations and kernel selection.
/// </summary>
internal static class ModelWarmUp
{
    public static void Run(ServedModel model, string modelPath)
    {
        var names = new string[model.Inputs.Count];
        var values = new OrtValue[model.Inputs.Count];
        try
        {
            for (var i = 0; i < values.Length; i++)
            {
                var spec = model.Inputs[i];
                names[i] = spec.Name;
                // Dynamic dimensions become 1: the smallest shape every such model accepts.
                var shape = Array.ConvertAll(spec.Shape, dimension => dimension < 0 ? 1L : dimension);
                values[i] = spec.ElementType == TensorElementType.String
                    ? OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape)
                    : OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, spec.ElementType, shape);
                if (spec.ElementType != TensorElementType.String)
                {
                    values[i].GetTensorMutableRawData().Clear();
                }
            }

            using var results = model.Session.Run(model.RunOptions, names, values, model.OutputNames);
        }
        catch (OnnxRuntimeException exception)
        {
            throw new ModelRepositoryException(
                [$"{modelPath}: the warm-up run on zeros failed: {exception.Message}"]);
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
    }
}
