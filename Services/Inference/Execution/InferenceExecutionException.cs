namespace MlPlatform.Inference.Execution;

/// <summary>ONNX Runtime refused to run a request, almost always because of the values it carried.</summary>
internal sealed class InferenceExecutionException(string message) : Exception(message);
