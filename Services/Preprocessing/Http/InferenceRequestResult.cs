using System.Globalization;
using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Preprocessing.Http;

/// <summary>
/// An Open Inference Protocol request with binary tensors, sent as the response body so the caller
/// can forward it unchanged to <c>/v2/models/{model}/infer</c>.
/// </summary>
internal sealed class InferenceRequestResult(PooledBufferWriter body, int headerLength) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType => ProtocolParameters.BinaryContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using (body)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ProtocolParameters.BinaryContentType;
            response.ContentLength = body.WrittenCount;
            response.Headers[ProtocolParameters.HeaderContentLength] = headerLength.ToString(CultureInfo.InvariantCulture);
            await response.Body.WriteAsync(body.WrittenMemory, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
