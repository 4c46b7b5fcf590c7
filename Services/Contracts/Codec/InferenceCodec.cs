using System.Buffers;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Contracts.Codec;

/// <summary>
/// Reads and writes Open Inference Protocol bodies: plain JSON, and JSON followed by binary tensors
/// (the binary tensor data extension, whose JSON part is <see cref="ProtocolParameters.HeaderContentLength"/> bytes long).
/// </summary>
/// <remarks>
/// Every read failure is an <see cref="InferenceProtocolException"/> whose message names the field at
/// fault. Nothing here allocates per tensor element.
/// </remarks>
public static partial class InferenceCodec
{
    /// <summary>Reads a request body.</summary>
    /// <param name="body">The whole body. Binary tensors of the result point into it.</param>
    /// <param name="headerLength">
    /// The value of <c>Inference-Header-Content-Length</c>, or null when the body is JSON only.
    /// </param>
    public static InferenceRequest ReadRequest(ReadOnlyMemory<byte> body, int? headerLength) =>
        InferenceBodyReader.ReadRequest(body, headerLength, ArrayPool<byte>.Shared);

    /// <summary>Reads a response body, as a client or the postprocessing service does.</summary>
    public static InferenceResponse ReadResponse(ReadOnlyMemory<byte> body, int? headerLength) =>
        InferenceBodyReader.ReadResponse(body, headerLength, ArrayPool<byte>.Shared);

    /// <summary>Writes a request; with <paramref name="binaryInputs"/> every input goes as binary data after the JSON.</summary>
    /// <returns>The JSON header's length when binary data follows it, null when the body is JSON only.</returns>
    public static int? WriteRequest(IBufferWriter<byte> destination, InferenceRequest request, bool binaryInputs) =>
        InferenceBodyWriter.WriteRequest(destination, request, binaryInputs);

    /// <summary>Writes a response; <paramref name="binaryOutput"/> says, per output name, whether it goes as binary data.</summary>
    /// <returns>The JSON header's length when binary data follows it, null when the body is JSON only.</returns>
    public static int? WriteResponse(IBufferWriter<byte> destination, InferenceResponse response, Func<string, bool>? binaryOutput) =>
        InferenceBodyWriter.WriteResponse(destination, response, binaryOutput);
}
