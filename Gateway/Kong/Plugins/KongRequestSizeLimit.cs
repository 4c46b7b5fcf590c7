using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using MlPlatform.Gateway.Declarative;

namespace MlPlatform.Gateway.Kong.Plugins;

/// <summary>
/// Kong 3.x's request-size-limiting (kong/plugins/request-size-limiting/handler.lua), built once per configuration
/// and shared by every request: a declared Content-Length over the limit is refused with 413, or 417 when the client
/// waits for <c>100 Continue</c>; without one, require_content_length refuses with 411 unless the body is chunked.
/// </summary>
/// <remarks>
/// Kong reads a body without Content-Length whole before it measures it; here it is stopped while it streams instead:
/// the server's request body limit is lowered to the plugin's, so Kestrel ends the read at the first byte over it, and
/// where the limit cannot be changed any more (the body is already being read) the body is read through a stream that
/// stops there itself, with Kong's message and status.
/// </remarks>
public sealed class KongRequestSizeLimit
{
    private const string HeaderValueChunked = "chunked";

    private readonly long _allowedBytes;
    private readonly bool _requireContentLength;

    public KongRequestSizeLimit(RequestSizeLimitingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _allowedBytes = config.AllowedBytes;
        _requireContentLength = config.RequireContentLength;
    }

    /// <summary>Null when the request may go on (its body then limited while it streams), else the refusal.</summary>
    public PluginRefusal? Check(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (request.ContentLength is { } declared)
        {
            return declared > _allowedBytes ? Exceeded(request) : null;
        }

        // Digits too many for a long are still a number to Kong's tonumber, and over any limit a long can hold.
        if (request.Headers[HeaderNames.ContentLength] is [{ } raw] && raw.AsSpan().Trim() is { IsEmpty: false } digits
            && !digits.ContainsAnyExceptInRange('0', '9'))
        {
            return Exceeded(request);
        }

        // Kong compares Transfer-Encoding with "chunked" exactly, and a repeated header is a list to it, never equal.
        if (_requireContentLength && request.Headers.TransferEncoding is not [HeaderValueChunked])
        {
            return KongRefusals.ContentLengthRequired;
        }

        // A limit below zero refuses even an empty body, which no streaming limit can say.
        if (_allowedBytes < 0)
        {
            return Exceeded(request);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } serverLimit)
        {
            if (serverLimit.MaxRequestBodySize is not { } current || current > _allowedBytes)
            {
                serverLimit.MaxRequestBodySize = _allowedBytes;
            }
        }
        else
        {
            request.Body = new SizeLimitedStream(request.Body, _allowedBytes, Exceeded(request));
        }

        return null;
    }

    private static PluginRefusal Exceeded(HttpRequest request) =>
        request.Headers.Expect is [var expect] && expect.AsSpan().Trim().Equals("100-continue", StringComparison.OrdinalIgnoreCase)
            ? KongRefusals.SizeLimitExceededBeforeContinue
            : KongRefusals.SizeLimitExceeded;

    /// <summary>A request body that fails its reader, as Kestrel's own limit does, at the first byte over the limit.</summary>
    private sealed class SizeLimitedStream(Stream inner, long limit, PluginRefusal refusal) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            if (_read > limit)
            {
                throw new BadHttpRequestException(refusal.Message, refusal.StatusCode);
            }

            return read;
        }
    }
}
