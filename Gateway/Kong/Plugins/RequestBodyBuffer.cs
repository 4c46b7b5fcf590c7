using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using MlPlatform.Contracts.Buffers;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// Reads a request body whole into a pooled buffer, within the server's limit, and puts a body back in its place for
/// whoever reads it next (the forwarder). Buffers go back to the pool when the request ends.
/// </summary>
internal static class RequestBodyBuffer
{
    private static readonly IHttpRequestBodyDetectionFeature HasBody = new BodyDetection();

    /// <summary>The body, with <see cref="HttpRequest.Body"/> now reading it again from memory; or the refusal to answer instead.</summary>
    public static async ValueTask<(PooledBody? Body, PluginRefusal? Refusal)> ReadAsync(HttpContext context, long limitWithoutServerLimit)
    {
        var request = context.Request;
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? limitWithoutServerLimit;
        PooledBody? body;
        try
        {
            body = await PooledBody.ReadAsync(request.Body, request.ContentLength, limit, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException exception)
        {
            return (null, KongRefusals.ForUnreadableBody(exception.StatusCode));
        }

        if (body is null)
        {
            return (null, KongRefusals.SizeLimitExceeded);
        }

        context.Response.RegisterForDispose(body);
        request.Body = ReadOnlyStream(body.Memory);
        return (body, null);
    }

    /// <summary>
    /// Sends <paramref name="replacement"/> in place of the body read, with its length, as Kong's set_raw_body and
    /// Content-Length do; the original buffer goes back to the pool now, since nothing reads it any more.
    /// </summary>
    public static void Replace(HttpContext context, PooledBody original, PooledBufferWriter replacement)
    {
        var request = context.Request;
        context.Response.RegisterForDispose(replacement);
        request.Body = ReadOnlyStream(replacement.WrittenMemory);
        request.ContentLength = replacement.WrittenCount;

        // A length now frames the body; a chunked framing left beside it would contradict it.
        request.Headers.Remove(HeaderNames.TransferEncoding);

        // Kestrel decided at the request line whether there is a body (a GET without Content-Length has none), and
        // the forwarder goes by that: a body made here, as add.body makes one for an empty JSON request, must be sent.
        context.Features.Set(HasBody);
        original.Dispose();
    }

    private static MemoryStream ReadOnlyStream(ReadOnlyMemory<byte> memory)
    {
        // Both buffers are pooled arrays, so this never copies.
        if (!MemoryMarshal.TryGetArray(memory, out var segment))
        {
            throw new InvalidOperationException("A pooled body is always an array.");
        }

        return new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
    }

    private sealed class BodyDetection : IHttpRequestBodyDetectionFeature
    {
        public bool CanHaveBody => true;
    }
}
