using System.Buffers;

namespace MlPlatform.Contracts.Buffers;

/// <summary>
/// The pooled arrays that JSON tensors of one request or response were parsed into; disposing
/// returns them. Tensors that point into them must not be used after that.
/// </summary>
public sealed class PooledBuffers(ArrayPool<byte> pool) : IDisposable
{
    private readonly ArrayPool<byte> _pool = pool;

    public PooledBuffers()
        : this(ArrayPool<byte>.Shared)
    {
    }
    private List<byte[]>? _arrays = new(4);

    public byte[] Rent(int minimumLength)
    {
        var arrays = _arrays ?? throw new ObjectDisposedException(nameof(PooledBuffers));
        var array = _pool.Rent(minimumLength);
        arrays.Add(array);
        return array;
    }

    /// <summary>Moves the first <paramref name="used"/> bytes of <paramref name="current"/> into a larger array and returns the old one.</summary>
    public byte[] Grow(byte[] current, int used, int minimumLength)
    {
        var arrays = _arrays ?? throw new ObjectDisposedException(nameof(PooledBuffers));
        var index = arrays.LastIndexOf(current);
        var larger = _pool.Rent(minimumLength);
        current.AsSpan(0, used).CopyTo(larger);

        // Swap before returning so a failure in between can neither leak nor double-return.
        arrays[index] = larger;
        _pool.Return(current);
        return larger;
    }

    public void Dispose()
    {
        var arrays = Interlocked.Exchange(ref _arrays, null);
        if (arrays is null)
        {
            return;
        }

        foreach (var array in arrays)
        {
            _pool.Return(array);
        }
    }
}
