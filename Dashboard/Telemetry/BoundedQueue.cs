namespace MlPlatform.Dashboard.Telemetry;

/// <summary>
/// A first-in first-out ring with a fixed capacity: past it, each add evicts the oldest item.
/// The backing array grows by doubling, so a cap of millions costs nothing until it is used.
/// Not thread-safe: its owner holds a lock.
/// </summary>
internal sealed class BoundedQueue<T>
{
    private const int InitialSize = 16;

    private T[] _items = [];
    private int _head;

    public BoundedQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>Index 0 is the oldest item, <c>Count - 1</c> the newest.</summary>
    public T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return _items[Slot(index)];
        }
    }

    public T Newest => this[Count - 1];

    /// <summary>Appends <paramref name="item"/>; returns true when that evicted the oldest item.</summary>
    public bool Add(T item, out T evicted)
    {
        if (Count == Capacity)
        {
            evicted = _items[_head];
            _items[_head] = item;
            _head = (_head + 1) % _items.Length;
            return true;
        }

        if (Count == _items.Length)
        {
            Grow();
        }

        _items[Slot(Count)] = item;
        Count++;
        evicted = default!;
        return false;
    }

    private int Slot(int index)
    {
        var slot = _head + index;
        return slot >= _items.Length ? slot - _items.Length : slot;
    }

    private void Grow()
    {
        var size = (int)Math.Min(Capacity, Math.Max(InitialSize, (long)_items.Length * 2));
        var items = new T[size];
        for (var i = 0; i < Count; i++)
        {
            items[i] = _items[Slot(i)];
        }

        _items = items;
        _head = 0;
    }
}
