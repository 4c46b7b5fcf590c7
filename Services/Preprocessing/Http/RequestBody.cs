using System.Buffers;

namespace MlPlatform.Preprocessing.Http;

/// <summary>A request body read whole into a pooled array, returned when disposed.</summary>
internal sealed class RequestBody : IDisposable
{
    private byte[]? _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Memory = buffer.AsMemory(0, length);
    }

    public ReadOnlyMemory<byte> Memory { get; }

    /// <summary>Reads the body, refusing one longer than <paramref name="limit"/>.</summary>
    /// <returns>The body, or null when it is over the limit.</returns>
    public static async Task<RequestBody?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        var capacity = (int)Math.Min(request.ContentLength ?? 16 * 1024, limit);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 1));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= limit)
                    {
                        // One byte more tells a body exactly at the limit from one over it.
                        var probe = new byte[1];
                        if (await request.Body.ReadAsync(probe, cancellationToken).ConfigureAwait(false) == 0)
                        {
                            break;
                        }

                        ArrayPool<byte>.Shared.Return(buffer);
                        return null;
                    }

                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit, 2L * buffer.Length));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
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
