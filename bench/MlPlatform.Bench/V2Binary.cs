using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.Json;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Bench;

/// <summary>Open Inference Protocol requests with binary tensors, built once and sent many times.</summary>
internal static class V2Binary
{
    /// <summary>An FP32 request for one input whose outputs come back binary as well; the header length goes in Inference-Header-Content-Length.</summary>
    public static (byte[] Body, string HeaderLength) Request(string input, long[] shape, ReadOnlySpan<float> data)
    {
        using var writer = new PooledBufferWriter();
        using var request = new InferenceRequest
        {
            Inputs =
            [
                new InferenceTensor
                {
                    Name = input,
                    DataType = TensorDataType.Fp32,
                    Shape = shape,
                    Data = MemoryMarshal.AsBytes(data).ToArray(),
                },
            ],
            Parameters = new Dictionary<string, JsonElement> { [ProtocolParameters.BinaryDataOutput] = JsonDocument.Parse("true").RootElement },
        };
        var headerLength = InferenceCodec.WriteRequest(writer, request, binaryInputs: true);
        return (writer.WrittenSpan.ToArray(), headerLength!.Value.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A request message for <c>POST /v2/models/{model}/infer</c> carrying a body made by <see cref="Request"/>.</summary>
    public static HttpRequestMessage Infer(string model, (byte[] Body, string HeaderLength) request)
    {
        var content = new ByteArrayContent(request.Body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add(ProtocolParameters.HeaderContentLength, request.HeaderLength);
        return new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{model}/infer") { Content = content };
    }
}
