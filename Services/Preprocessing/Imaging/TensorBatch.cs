using System.Buffers;
using System.Runtime.InteropServices;

namespace MlPlatform.Preprocessing.Imaging;

/// <summary>
/// The FP32 elements of a batch, instance after instance, in one pooled byte array that becomes the
/// binary tensor as it is: the protocol's layout is little-endian, as every platform .NET serves on.
/// </summary>
internal sealed class TensorBatch : IDisposable
{
    private readonly int _instanceBytes;
    private byte[] _buffer;

    public TensorBatch(int instanceLength, int expectedInstances)
    {
        InstanceLength = instanceLength;
        _instanceBytes = checked(instanceLength * sizeof(float));
        _buffer = ArrayPool<byte>.Shared.Rent(checked(_instanceBytes * Math.Max(1, expectedInstances)));
    }

    public int InstanceLength { get; }

    public int Count { get; private set; }

    public ReadOnlyMemory<byte> Data => _buffer.AsMemory(0, Count * _instanceBytes);

    /// <summary>Room for one more instance, every element 0.</summary>
    public Span<float> Add()
    {
        var used = Count * _instanceBytes;
        if (used + _instanceBytes > _buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(checked(Math.Max(used + _instanceBytes, 2 * _buffer.Length)));
            _buffer.AsSpan(0, used).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }

        Count++;
        var slot = _buffer.AsSpan(used, _instanceBytes);
        slot.Clear();
        return MemoryMarshal.Cast<byte, float>(slot);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
