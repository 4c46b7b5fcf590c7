using System.Buffers;

namespace MlPlatform.Postprocessing.Http;

/// <summary>A request body read whole into a pooled array; binary tensors point into it until it is disposed.</summary>
internal sealed class RequestBody : IDisposable
{
    private byte[]? _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Memory = buffer.AsMemory(0, length);
    }

    public ReadOnlyMemory<byte> Memory { get; }

    /// <summary>Reads the body, refusing one longer than <paramref name="limit"/> bytes.</summary>
    /// <returns>The body, or null when it is over the limit.</returns>
    public static async Task<RequestBody?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        // One byte past the limit is read, never more: it tells a body exactly at the limit from one over it.
        var ceiling = (int)Math.Min(limit + 1, Array.MaxLength);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(request.ContentLength + 1 ?? 16 * 1024, 1, ceiling));
        var length = 0;
        try
        {
            while (true)
            {
                // A pooled array may be longer than asked for; the ceiling, not its length, bounds the read.
                var window = Math.Min(buffer.Length, ceiling);
                if (length == window)
                {
                    if (length == ceiling)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return null;
                    }

                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(ceiling, 2L * buffer.Length));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                    window = Math.Min(buffer.Length, ceiling);
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length, window - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (length > limit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return null;
        }

        return new RequestBody(buffer, length);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
