using System.Globalization;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Inference.Http;

/// <summary>Sends a response body already encoded, so an encoding failure can still become a clean 400.</summary>
internal sealed class InferenceResponseResult(PooledBufferWriter body, int? headerLength) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    /// <summary>Encodes a response as the request asked: each output binary or JSON.</summary>
    /// <exception cref="InferenceProtocolException">An output cannot go as JSON (BYTES that are not UTF-8).</exception>
    public static InferenceResponseResult Encode(InferenceResponse response, InferenceRequest request)
    {
        var body = new PooledBufferWriter(16 * 1024);
        try
        {
            var headerLength = InferenceCodec.WriteResponse(body, response, request.WantsBinary);
            return new InferenceResponseResult(body, headerLength);
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using (body)
        {
            var httpResponse = httpContext.Response;
            httpResponse.StatusCode = StatusCodes.Status200OK;
            httpResponse.ContentLength = body.WrittenCount;
            if (headerLength is { } length)
            {
                httpResponse.ContentType = ProtocolParameters.BinaryContentType;
                httpResponse.Headers[ProtocolParameters.HeaderContentLength] = length.ToString(CultureInfo.InvariantCulture);
            }
            else
            {
                httpResponse.ContentType = ProtocolParameters.JsonContentType;
            }

            await httpResponse.Body.WriteAsync(body.WrittenMemory, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
