using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using MlPlatform.Contracts.Protocol;

namespace MlPlatform.Contracts.Buffers;

/// <summary>
/// A 200 whose body was written to a pooled buffer before the endpoint returned, so a problem found half-way
/// (an output that cannot go as JSON, a bad row) could still become a clean 4xx. Sends the bytes as they are,
/// with their length, and gives the buffer back to the pool once they are on their way.
/// </summary>
public sealed class PooledBodyResult : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    private readonly ReadOnlyMemory<byte> _body;
    private readonly IDisposable _owner;
    private readonly int? _inferenceHeaderLength;

    private PooledBodyResult(ReadOnlyMemory<byte> body, IDisposable owner, string contentType, int? inferenceHeaderLength)
    {
        _body = body;
        _owner = owner;
        ContentType = contentType;
        _inferenceHeaderLength = inferenceHeaderLength;
    }

    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType { get; }

    /// <summary>A JSON body written to <paramref name="body"/>.</summary>
    public static PooledBodyResult Json(PooledBufferWriter body) =>
        new(body.WrittenMemory, body, ProtocolParameters.JsonContentType, null);

    /// <summary>A JSON body passed on as it was read, never parsed.</summary>
    public static PooledBodyResult Json(PooledBody body) =>
        new(body.Memory, body, ProtocolParameters.JsonContentType, null);

    /// <summary>
    /// An Open Inference Protocol body: with <paramref name="headerLength"/>, the binary tensor extension's form (a
    /// JSON header of that many bytes, then the tensors); without it, plain JSON.
    /// </summary>
    public static PooledBodyResult Inference(PooledBufferWriter body, int? headerLength) =>
        new(body.WrittenMemory, body, headerLength is null ? ProtocolParameters.JsonContentType : ProtocolParameters.BinaryContentType, headerLength);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using (_owner)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ContentType;
            response.ContentLength = _body.Length;
            if (_inferenceHeaderLength is { } headerLength)
            {
                response.Headers[ProtocolParameters.HeaderContentLength] = headerLength.ToString(CultureInfo.InvariantCulture);
            }

            await response.Body.WriteAsync(_body, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
