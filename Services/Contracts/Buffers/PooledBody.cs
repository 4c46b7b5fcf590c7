using System.Buffers;

namespace MlPlatform.Contracts.Buffers;

/// <summary>
/// A request body read whole into a pooled array, up to a limit. Binary tensors read from it point
/// into it, so it lives as long as they do and goes back to the pool when disposed.
/// </summary>
public sealed class PooledBody : IDisposable
{
    private byte[]? _buffer;

    private PooledBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Memory = buffer.AsMemory(0, length);
    }

    public ReadOnlyMemory<byte> Memory { get; }

    /// <summary>Reads a body, refusing one longer than <paramref name="limit"/> bytes.</summary>
    /// <param name="body">The body stream, for example <c>HttpRequest.Body</c>.</param>
    /// <param name="contentLength">The declared length, when the client sent one: a body declared too long is refused unread.</param>
    /// <returns>The body, or null when it is over the limit.</returns>
    public static async Task<PooledBody?> ReadAsync(Stream body, long? contentLength, long limit, CancellationToken cancellationToken)
    {
        if (contentLength > limit)
        {
            return null;
        }

        // One byte past the limit is read, never more: it tells a body exactly at the limit from one over it.
        var ceiling = (int)Math.Min(limit + 1, Array.MaxLength);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(contentLength + 1 ?? 16 * 1024, 1, ceiling));
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

                var read = await body.ReadAsync(buffer.AsMemory(length, window - length), cancellationToken).ConfigureAwait(false);
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

        return new PooledBody(buffer, length);
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
