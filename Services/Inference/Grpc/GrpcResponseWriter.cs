using Google.Protobuf;
using MlPlatform.Contracts.Protocol;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Grpc;

/// <summary>Turns an <see cref="InferenceResponse"/> into a <see cref="ModelInferResponse"/>, every output as raw contents, as Triton answers.</summary>
internal static class GrpcResponseWriter
{
    /// <remarks>
    /// The raw contents point into the response's buffers without a copy: the caller keeps the response alive until
    /// the message has been written.
    /// </remarks>
    public static ModelInferResponse Write(InferenceResponse response)
    {
        var message = new ModelInferResponse
        {
            ModelName = response.ModelName,
            ModelVersion = response.ModelVersion ?? "",
            Id = response.Id ?? "",
        };
        GrpcParameters.Write(response.Parameters, message.Parameters);

        foreach (var output in response.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.DataType.ProtocolName };
            tensor.Shape.Add(output.Shape);
            GrpcParameters.Write(output.Parameters, tensor.Parameters);
            message.Outputs.Add(tensor);
            message.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(output.Data));
        }

        return message;
    }
}
