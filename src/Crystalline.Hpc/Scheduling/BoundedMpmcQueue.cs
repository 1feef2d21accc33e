namespace Crystalline.Hpc.Scheduling;

/// <summary>
/// A bounded lock-free multi-producer multi-consumer queue after Dmitry Vyukov's design: each slot
/// carries a sequence number that says whose turn it is (a producer of lap k, or a consumer of lap k),
/// so producers and consumers claim positions with one CAS each and never touch the same slot at
/// the same time. Head and tail sit on their own cache lines.
/// </summary>
/// <remarks>Allocation-free after construction. <see cref="TryEnqueue"/> returns false when full.</remarks>
internal sealed class BoundedMpmcQueue<T, THook> where THook : struct, IInterleavingHook
{
    private struct Slot
    {
        public long Sequence;
        public T Item;
    }

    private readonly Slot[] _slots;
    private readonly long _mask;
    private PaddedPair _positions; // First = enqueue position, Second = dequeue position

    /// <param name="capacity">Rounded up to a power of two; at least 2.</param>
    public BoundedMpmcQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 28);
        int cap = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 2));
        _slots = new Slot[cap];
        for (int i = 0; i < cap; i++) _slots[i].Sequence = i;
        _mask = cap - 1;
    }

    public int Capacity => _slots.Length;

    /// <summary>Approximate number of queued items.</summary>
    public long Count => Math.Clamp(Volatile.Read(ref _positions.First) - Volatile.Read(ref _positions.Second), 0, _slots.Length);

    public bool TryEnqueue(in T item)
    {
        long pos = Volatile.Read(ref _positions.First);
        while (true)
        {
            default(THook).Interleave();
            ref Slot slot = ref _slots[pos & _mask];
            long seq = Volatile.Read(ref slot.Sequence); // acquire: the consumer of the last lap is done with Item
            long diff = seq - pos;
            if (diff == 0)
            {
                default(THook).Interleave();
                long seen = Interlocked.CompareExchange(ref _positions.First, pos + 1, pos);
                if (seen == pos)
                {
                    default(THook).Interleave();
                    slot.Item = item;
                    Volatile.Write(ref slot.Sequence, pos + 1); // release: hands the slot to the consumer
                    return true;
                }
                pos = seen;
            }
            else if (diff < 0)
            {
                return false; // the slot still holds last lap's item: full
            }
            else
            {
                pos = Volatile.Read(ref _positions.First); // another producer took pos
            }
        }
    }

    public bool TryDequeue(out T item)
    {
        long pos = Volatile.Read(ref _positions.Second);
        while (true)
        {
            default(THook).Interleave();
            ref Slot slot = ref _slots[pos & _mask];
            long seq = Volatile.Read(ref slot.Sequence); // acquire: the producer's Item write is visible
            long diff = seq - (pos + 1);
            if (diff == 0)
            {
                default(THook).Interleave();
                long seen = Interlocked.CompareExchange(ref _positions.Second, pos + 1, pos);
                if (seen == pos)
                {
                    default(THook).Interleave();
                    item = slot.Item;
                    slot.Item = default!; // drop references for the GC when T holds any
                    Volatile.Write(ref slot.Sequence, pos + _mask + 1); // release: free for the next lap's producer
                    return true;
                }
                pos = seen;
            }
            else if (diff < 0)
            {
                item = default!;
                return false; // empty
            }
            else
            {
                pos = Volatile.Read(ref _positions.Second);
            }
        }
    }
}
