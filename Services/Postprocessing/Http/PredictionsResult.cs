using MlPlatform.Contracts.Buffers;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Postprocessing.Http;

/// <summary>Sends predictions already written, so a problem found half-way through the rows can still become a clean 400.</summary>
internal sealed class PredictionsResult(PooledBufferWriter body) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType => ProtocolParameters.JsonContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using (body)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ContentType;
            response.ContentLength = body.WrittenCount;
            await response.Body.WriteAsync(body.WrittenMemory, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
