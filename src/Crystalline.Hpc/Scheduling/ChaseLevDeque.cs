using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Scheduling;

/// <summary>What a thief got from <see cref="ChaseLevDeque{THook}.TrySteal"/>.</summary>
internal enum StealResult
{
    /// <summary>An item was taken.</summary>
    Success,
    /// <summary>The deque looked empty.</summary>
    Empty,
    /// <summary>Lost a race with the owner or another thief; the deque may still hold items.</summary>
    Abort,
}

/// <summary>
/// A bounded Chase-Lev work-stealing deque of 64-bit items, with the memory orderings of Lê, Pop, Cohen
/// and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013).
/// One owner thread pushes and pops at the bottom (LIFO); any number of thieves steal at the top (FIFO).
/// Only the race for the last item (owner pop vs thief) and thief-vs-thief use a CAS on <c>top</c>.
/// </summary>
/// <remarks>
/// Bounded: <see cref="TryPush"/> returns false when full and the owner must run the item itself
/// (the overflow path). The ring never grows, so a thief never reads a retired buffer.
/// .NET maps the C11 orderings as: acquire load = Volatile.Read, release store = Volatile.Write,
/// seq_cst fence = Interlocked.MemoryBarrier, seq_cst CAS = Interlocked.CompareExchange.
/// </remarks>
internal sealed class ChaseLevDeque<THook> where THook : struct, IInterleavingHook
{
    private readonly long[] _items;
    private readonly long _mask;
    // Top = First (thieves hammer it), Bottom = Second (the owner writes it): separate cache lines.
    private PaddedPair _indices;

    /// <param name="capacity">Rounded up to a power of two; at least 2.</param>
    public ChaseLevDeque(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 30);
        int cap = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 2));
        // A line of slack on either side: deques of different workers are allocated one after another,
        // and the owner's pushes must not share a line with another deque's slots.
        _items = new long[cap + 2 * SlotPadding];
        _mask = cap - 1;
    }

    private const int SlotPadding = Memory.LinePairs.Bytes / sizeof(long);

    public int Capacity => _items.Length - 2 * SlotPadding;

    /// <summary>Approximate item count (exact when no other thread is acting).</summary>
    public long Count => Math.Max(0, Volatile.Read(ref _indices.Second) - Volatile.Read(ref _indices.First));

    /// <summary>Owner only. False when full: the caller runs the item itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public bool TryPush(long item)
    {
        long b = _indices.Second; // owner's own variable: relaxed
        default(THook).Interleave();
        long t = Volatile.Read(ref _indices.First); // acquire: slots below top are free again
        if (b - t > _mask) return false;
        Volatile.Write(ref _items[SlotPadding + (b & _mask)], item);
        default(THook).Interleave();
        Volatile.Write(ref _indices.Second, b + 1); // release: publishes the slot to thieves
        return true;
    }

    /// <summary>Owner only: the most recently pushed item.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the epoch path is compiled optimised at once (see ControlProcess)
    public bool TryPop(out long item)
    {
        long b = _indices.Second - 1;
        _indices.Second = b; // relaxed store, ordered by the fence below
        default(THook).Interleave();
        // seq_cst fence: the owner's claim on slot b (bottom = b) and a thief's claim on top must not
        // both pass unseen; this is the store-load ordering a plain x86 store does not give.
        Interlocked.MemoryBarrier();
        long t = Volatile.Read(ref _indices.First);
        default(THook).Interleave();
        if (t <= b)
        {
            item = Volatile.Read(ref _items[SlotPadding + (b & _mask)]);
            if (t == b)
            {
                // The last item: race thieves for it through top.
                bool won = Interlocked.CompareExchange(ref _indices.First, t + 1, t) == t;
                default(THook).Interleave();
                _indices.Second = b + 1;
                if (!won) { item = 0; return false; }
            }
            return true;
        }
        // Empty: restore bottom.
        _indices.Second = b + 1;
        item = 0;
        return false;
    }

    /// <summary>Any thread: the oldest item.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the epoch path is compiled optimised at once (see ControlProcess)
    public StealResult TrySteal(out long item)
    {
        long t = Volatile.Read(ref _indices.First); // acquire
        default(THook).Interleave();
        Interlocked.MemoryBarrier(); // seq_cst fence, pairs with the one in TryPop
        long b = Volatile.Read(ref _indices.Second); // acquire: sees the slot the owner published
        default(THook).Interleave();
        if (t < b)
        {
            // Read before the CAS: once top moves past t the owner may reuse the slot.
            item = Volatile.Read(ref _items[SlotPadding + (t & _mask)]);
            default(THook).Interleave();
            if (Interlocked.CompareExchange(ref _indices.First, t + 1, t) != t)
            {
                item = 0;
                return StealResult.Abort;
            }
            return StealResult.Success;
        }
        item = 0;
        return StealResult.Empty;
    }
}

/// <summary>Two longs 128 bytes apart with 128 bytes of padding before and after: never in the same
/// 128-byte pair of lines as each other or as a neighbour (the L2 prefetchers fetch lines in pairs).</summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * Memory.LinePairs.Bytes)]
internal struct PaddedPair
{
    [FieldOffset(Memory.LinePairs.Bytes)] public long First;
    [FieldOffset(2 * Memory.LinePairs.Bytes)] public long Second;
}
