using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Execution;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// Makes one version of a model of the repository servable: its ONNX Runtime session with the config's settings,
/// its inputs and outputs from the graph, checked against the config, and one warm-up run.
/// </summary>
internal static class ServedModelLoader
{
    /// <summary>Creates the session, reads inputs and outputs from the graph and warms the model up.</summary>
    /// <param name="inventedWarmUpFailure">Why the server's own warm-up on zeros failed, which does not keep the model from serving.</param>
    /// <exception cref="ModelRepositoryException">The file is not a model this server can serve, or a configured warm-up sample fails.</exception>
    public static ServedModel Load(ModelDefinition definition, long version, string modelPath, out string? inventedWarmUpFailure)
    {
        InferenceSession session;
        using (var options = CreateSessionOptions(definition.Config.OnnxRuntime))
        {
            try
            {
                session = new InferenceSession(modelPath, options);
            }
            catch (OnnxRuntimeException exception)
            {
                throw new ModelRepositoryException([$"{modelPath}: ONNX Runtime cannot load the model: {exception.Message}"]);
            }
        }

        TensorSpec[] inputs, outputs;
        try
        {
            var problems = new List<string>();
            inputs = ReadSpecs(session.InputMetadata, session.InputNames, modelPath, "input", problems);
            outputs = ReadSpecs(session.OutputMetadata, session.OutputNames, modelPath, "output", problems);

            if (definition.Config.MaxBatchSize > 0)
            {
                foreach (var spec in inputs.Concat(outputs))
                {
                    if (spec.Shape.Length == 0 || spec.Shape[0] != -1)
                    {
                        problems.Add($"{definition.ConfigPath}: field 'max_batch_size' is {definition.Config.MaxBatchSize} but '{spec.Name}' of {modelPath} has no dynamic first (batch) dimension; set max_batch_size to 0");
                    }
                }
            }

            if (problems.Count > 0)
            {
                throw new ModelRepositoryException(problems);
            }
        }
        catch
        {
            session.Dispose();
            throw;
        }

        var model = new ServedModel(definition.Name, definition.Config, version, session, inputs, outputs);
        try
        {
            inventedWarmUpFailure = ModelWarmUp.Run(model, definition, modelPath);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static Microsoft.ML.OnnxRuntime.SessionOptions CreateSessionOptions(OnnxRuntimeConfig config)
    {
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = config.IntraOpThreads,
            InterOpNumThreads = config.InterOpThreads,
            ExecutionMode = config.InterOpThreads > 1 ? ExecutionMode.ORT_PARALLEL : ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = config.GraphOptimizationLevel switch
            {
                "disabled" => GraphOptimizationLevel.ORT_DISABLE_ALL,
                "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
        };
        return options;
    }

    private static TensorSpec[] ReadSpecs(
        IReadOnlyDictionary<string, NodeMetadata> metadata, IReadOnlyList<string> names, string modelPath, string kind, List<string> problems)
    {
        var specs = new List<TensorSpec>(names.Count);
        foreach (var name in names)
        {
            var node = metadata[name];
            if (!node.IsTensor)
            {
                problems.Add($"{modelPath}: {kind} '{name}' is a {node.OnnxValueType}; only tensors can be served");
                continue;
            }

            if (!TryMapElementType(node.ElementDataType, out var dataType))
            {
                problems.Add($"{modelPath}: {kind} '{name}' has element type {node.ElementDataType}, which the Open Inference Protocol cannot carry");
                continue;
            }

            var shape = new long[node.Dimensions.Length];
            for (var i = 0; i < shape.Length; i++)
            {
                // Symbolic dimensions come back as -1 too, which is what the protocol calls dynamic.
                shape[i] = node.Dimensions[i] < 0 ? -1 : node.Dimensions[i];
            }

            specs.Add(new TensorSpec(name, dataType, node.ElementDataType, shape));
        }

        return [.. specs];
    }

    private static bool TryMapElementType(TensorElementType elementType, out TensorDataType dataType)
    {
        (var supported, dataType) = elementType switch
        {
            TensorElementType.Bool => (true, TensorDataType.Bool),
            TensorElementType.UInt8 => (true, TensorDataType.UInt8),
            TensorElementType.UInt16 => (true, TensorDataType.UInt16),
            TensorElementType.UInt32 => (true, TensorDataType.UInt32),
            TensorElementType.UInt64 => (true, TensorDataType.UInt64),
            TensorElementType.Int8 => (true, TensorDataType.Int8),
            TensorElementType.Int16 => (true, TensorDataType.Int16),
            TensorElementType.Int32 => (true, TensorDataType.Int32),
            TensorElementType.Int64 => (true, TensorDataType.Int64),
            TensorElementType.Float16 => (true, TensorDataType.Fp16),
            TensorElementType.Float => (true, TensorDataType.Fp32),
            TensorElementType.Double => (true, TensorDataType.Fp64),
            TensorElementType.String => (true, TensorDataType.Bytes),
            _ => (false, default(TensorDataType)),
        };
        return supported;
    }
}
