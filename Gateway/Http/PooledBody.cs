using System.Buffers;

namespace MlPlatform.Gateway.Http;

/// <summary>A body read whole into one pooled array, so it can be sent to a replica, and again to another.</summary>
internal sealed class PooledBody : IDisposable
{
    private byte[]? _buffer;

    private PooledBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Memory = buffer.AsMemory(0, length);
    }

    public ReadOnlyMemory<byte> Memory { get; }

    public int Length => Memory.Length;

    /// <summary>Reads <paramref name="source"/> to its end, refusing more than <paramref name="limit"/> bytes.</summary>
    /// <param name="lengthHint">The announced length, to size the buffer once; null when unknown.</param>
    /// <returns>The body, or null when it is over the limit.</returns>
    public static async Task<PooledBody?> ReadAsync(Stream source, long? lengthHint, long limit, CancellationToken cancellationToken)
    {
        if (lengthHint > limit)
        {
            return null;
        }

        var cap = (int)Math.Min(limit, Array.MaxLength);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, (int)Math.Min(lengthHint ?? 16 * 1024, cap)));
        var length = 0;
        try
        {
            while (true)
            {
                var usable = Math.Min(buffer.Length, cap);
                if (length == usable)
                {
                    if (length >= cap)
                    {
                        // One byte more tells a body exactly at the limit from one over it.
                        var probe = new byte[1];
                        if (await source.ReadAsync(probe, cancellationToken).ConfigureAwait(false) == 0)
                        {
                            break;
                        }

                        ArrayPool<byte>.Shared.Return(buffer);
                        return null;
                    }

                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(cap, 2L * buffer.Length));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                }

                var read = await source.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, cap) - length), cancellationToken).ConfigureAwait(false);
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
