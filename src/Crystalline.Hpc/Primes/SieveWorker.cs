using System.Numerics;
using System.Runtime.CompilerServices;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Primes;

/// <summary>
/// One worker's sieve: a block buffer sized to the cache and the crossing state (next multiple,
/// wheel position) of every sieving prime. Owned by one thread at a time; the sieving primes it reads
/// belong to the parent abacus and are never written while workers run.
/// </summary>
internal sealed unsafe class SieveWorker : IDisposable
{
    private readonly AlignedBuffer<byte> _block;
    private long[] _next = [];
    private byte[] _wheel = [];
    private uint[] _primes = [];
    private int _active;     // sieving primes with p² inside the current segment
    private int _small;      // of those, the ones crossed L1 chunk by L1 chunk
    private int _large;      // from here on: few multiples per block, kept in buckets instead
    private long _segStart;  // absolute byte index where the current segment starts
    private long _position;  // absolute byte index the crossing state refers to

    // Bucket sieve (as primesieve's EratBig): a large prime hits a block rarely, so instead of visiting
    // every large prime in every block, each waits in the bucket of the block its next multiple falls
    // in. Entry: low 32 bits k = p / 30, high 32 bits offset-in-block << 6 | rIdx << 3 | wheel index.
    private readonly bool _buckets;
    private readonly int _blockShift;
    private ulong[][] _bucket = [];
    private int[] _bucketCount = [];
    private long _segBlocks;

    /// <param name="blockBytes">Block size (multiple of 64).</param>
    /// <param name="chunkBytes">L1 chunk for small primes.</param>
    /// <param name="uniformBlocks">True when every block but a segment's last is exactly blockBytes long;
    /// required for (and enables) the bucket sieve of large primes when blockBytes is a power of two.</param>
    public SieveWorker(int blockBytes, int chunkBytes, bool uniformBlocks = true)
    {
        if (blockBytes <= 0 || blockBytes % 64 != 0 || blockBytes > (1 << 25)) throw new ArgumentOutOfRangeException(nameof(blockBytes));
        BlockBytes = blockBytes;
        ChunkBytes = Math.Min(chunkBytes, blockBytes);
        // 64 bytes of slack for vector overruns, and the zero tail of a partial block.
        _block = new AlignedBuffer<byte>(blockBytes + 128);
        _buckets = uniformBlocks && BitOperations.IsPow2(blockBytes);
        _blockShift = BitOperations.Log2((uint)blockBytes);
    }

    /// <summary>Primes ≥ BlockBytes·LargeFactor go to the buckets (tuning knob).</summary>
    internal static double LargeFactor = 1.0;

    public int BlockBytes { get; }

    /// <summary>Primes below ChunkBytes·SmallFactor are crossed chunk by chunk (tuning knob).</summary>
    internal static double SmallFactor = 0.125;

    public int ChunkBytes { get; }

    public byte* Buffer => _block.Pointer;

    /// <summary>
    /// Prepares crossing state for a segment starting at absolute byte <paramref name="segStart"/> and
    /// ending before <paramref name="segEnd"/>, with the parent's sieving primes (≥ 167, ascending).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BeginSegment(uint[] sievingPrimes, int sievingCount, long segStart, long segEnd)
    {
        // Numbers in the segment are < 30·segEnd; only primes with p² below that have work.
        ulong top = 30UL * (ulong)segEnd;
        int lo = 0, hi = sievingCount;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            ulong p = sievingPrimes[mid];
            if (p * p < top) lo = mid + 1; else hi = mid;
        }
        _active = lo;
        if (_next.Length < _active)
        {
            int cap = Math.Max(_active, _next.Length * 2);
            _next = new long[cap];
            _wheel = new byte[cap];
            _primes = new uint[cap];
        }
        // Only primes with many multiples per L1 chunk gain from chunking; for larger ones the per-call
        // set-up (partial wheel turns) costs more than the L2 misses it saves. Chunk/8 measured best.
        uint smallLimit = (uint)(ChunkBytes * SmallFactor);
        int s = 0;
        while (s < _active && sievingPrimes[s] < smallLimit) s++;
        _small = s;

        int large = _active;
        if (_buckets)
        {
            ulong largeLimit = (ulong)(BlockBytes * LargeFactor);
            large = s;
            while (large < _active && sievingPrimes[large] < largeLimit) large++;
        }
        _large = large;
        // Within the small and the medium part, order the primes by residue class mod 30: consecutive
        // primes then take the same branch into the unrolled loop, which the predictor learns.
        byte* resIdx = Wheel30.ResidueIndex;
        GroupByResidue(sievingPrimes, 0, s, _primes, resIdx);
        GroupByResidue(sievingPrimes, s, large, _primes, resIdx);

        ulong startValue = 30UL * (ulong)segStart;
        byte* nextDelta = Wheel30.NextCoprimeDelta;
        for (int i = 0; i < large; i++)
        {
            ulong p = _primes[i];
            ulong q = (startValue + p - 1) / p; // one division; startValue + p < 2^64
            if (q < p) q = p;
            ulong qm = q % 30;
            q += nextDelta[qm];
            qm += nextDelta[qm];
            ulong byteIndex = p * q / 30;
            _next[i] = (long)(byteIndex - (ulong)segStart);
            _wheel[i] = resIdx[qm];
        }
        _segStart = segStart;
        _position = segStart;
        if (large < _active) FillBuckets(sievingPrimes, large, _active, segStart, segEnd);
    }

    private void FillBuckets(uint[] sievingPrimes, int from, int to, long segStart, long segEnd)
    {
        _segBlocks = (segEnd - segStart + BlockBytes - 1) >> _blockShift;
        // One step of the largest prime jumps at most 6·k + 6 bytes: the ring needs that many blocks + 1.
        long maxStep = 6L * (sievingPrimes[to - 1] / 30) + 6;
        // A power of two, so the hot path maps a block to its slot with a mask instead of a division.
        int ring = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Min((maxStep >> _blockShift) + 2, _segBlocks + 1));
        if (_bucket.Length < ring)
        {
            Array.Resize(ref _bucket, ring);
            Array.Resize(ref _bucketCount, ring);
            for (int i = 0; i < ring; i++) _bucket[i] ??= new ulong[64];
        }
        Array.Clear(_bucketCount);
        _ringSize = ring;
        _pendingCount = 0;
        _pendingNext = 0;
        ulong startValue = 30UL * (ulong)segStart;
        byte* resIdx = Wheel30.ResidueIndex;
        byte* nextDelta = Wheel30.NextCoprimeDelta;
        for (int i = from; i < to; i++)
        {
            ulong p = sievingPrimes[i];
            ulong q = (startValue + p - 1) / p; // one division; startValue + p < 2^64
            if (q < p) q = p;
            ulong qm = q % 30;
            q += nextDelta[qm];
            qm += nextDelta[qm];
            ulong rel = p * q / 30 - (ulong)segStart;
            ulong block = rel >> _blockShift;
            if (block >= (ulong)_segBlocks) continue; // no multiple in this segment
            uint rw = (uint)(resIdx[p % 30] << 3 | resIdx[qm]);
            ulong entry = (uint)(p / 30) | (ulong)((uint)(rel & (ulong)(BlockBytes - 1)) << 6 | rw) << 32;
            if (block < (ulong)ring)
            {
                Push((int)block, entry);
            }
            else
            {
                // Starts at p² beyond the ring's reach: wait here until the ring gets close. These are
                // ascending in p, hence in block.
                if (_pendingCount == _pending.Length)
                {
                    Array.Resize(ref _pending, Math.Max(64, _pending.Length * 2));
                    Array.Resize(ref _pendingBlock, _pending.Length);
                }
                _pending[_pendingCount] = entry;
                _pendingBlock[_pendingCount++] = (long)block;
            }
        }
    }

    private ulong[] _pending = [];
    private long[] _pendingBlock = [];
    private int _pendingCount;
    private int _pendingNext;

    private int _ringSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Push(int slot, ulong entry)
    {
        int n = _bucketCount[slot];
        ulong[] b = _bucket[slot];
        if (n == b.Length)
        {
            Array.Resize(ref b, n * 2);
            _bucket[slot] = b;
        }
        b[n] = entry;
        _bucketCount[slot] = n + 1;
    }

    /// <summary>Crosses the large primes waiting for this block, then re-files each under the block of its next multiple.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CrossBuckets(byte* s, int len)
    {
        long blockIndex = (_position - _segStart) >> _blockShift;
        int ring = _ringSize;
        // Slots hold blocks blockIndex … blockIndex + ring − 1: admit the waiting primes that fit.
        while (_pendingNext < _pendingCount && _pendingBlock[_pendingNext] < blockIndex + ring)
        {
            Push((int)(_pendingBlock[_pendingNext] % ring), _pending[_pendingNext]);
            _pendingNext++;
        }
        int slot = (int)(blockIndex % ring);
        int n = _bucketCount[slot];
        if (n == 0) return;
        _bucketCount[slot] = 0;
        ulong[] entries = _bucket[slot]; // a re-filed prime lands ≥ 1 and < ring blocks ahead: never this slot
        byte* mask = Wheel30.CrossMask;
        byte* corr = Wheel30.StepCorrection;
        byte* step = Wheel30.MultiplierStep;
        long segBlocks = _segBlocks;
        int shift = _blockShift;
        long blockMask = BlockBytes - 1;
        long ringMask = ring - 1;
        int[] counts = _bucketCount;
        ulong[][] buckets = _bucket;
        for (int e = 0; e < n; e++)
        {
            ulong entry = entries[e];
            long k = (uint)entry;
            uint hi = (uint)(entry >> 32);
            long b = hi >> 6;
            int rw = (int)(hi & 63);
            while (b < len)
            {
                s[b] &= mask[rw];
                int w = rw & 7;
                b += k * step[w] + corr[rw];
                rw = (rw & 56) | ((w + 1) & 7);
            }
            long target = blockIndex + (b >> shift);
            // Past the segment (or past a short last block): this segment is done with the prime.
            if (target >= segBlocks || target == blockIndex) continue;
            int t = (int)(target & ringMask);
            ulong refiled = (ulong)k | (ulong)((uint)(b & blockMask) << 6 | (uint)rw) << 32;
            int c = counts[t];
            ulong[] bucket = buckets[t];
            if ((uint)c < (uint)bucket.Length)
            {
                bucket[c] = refiled;
                counts[t] = c + 1;
            }
            else
            {
                Push(t, refiled);
            }
        }
    }

    private static void GroupByResidue(uint[] source, int from, int to, uint[] destination, byte* resIdx)
    {
        Span<int> start = stackalloc int[9];
        start.Clear();
        for (int i = from; i < to; i++) start[resIdx[source[i] % 30] + 1]++;
        start[0] = from;
        for (int r = 1; r <= 8; r++) start[r] += start[r - 1];
        for (int i = from; i < to; i++) destination[start[resIdx[source[i] % 30]]++] = source[i];
    }

    /// <summary>
    /// Sieves the next <paramref name="len"/> bytes (multiple of 8) of the segment into <see cref="Buffer"/>:
    /// bit set ⇔ the number is prime (for numbers ≥ 7; 1 is cleared; 2, 3, 5 are not in the wheel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SieveNextBlock(int len)
    {
        byte* buf = _block.Pointer;
        long blockStart = _position;
        PreSieve.Fill(buf, blockStart, len);
        if (blockStart == 0) FixFirstBlock(buf);
        fixed (long* next = _next)
        fixed (byte* wheel = _wheel)
        fixed (uint* primes = _primes)
        {
            int small = _small;
            int chunk = ChunkBytes;
            for (int c = 0; c < len; c += chunk)
            {
                int cl = Math.Min(chunk, len - c);
                byte* cb = buf + c;
                for (int i = 0; i < small; i++) CrossOff(cb, cl, primes[i], ref next[i], ref wheel[i]);
            }
            int large = _large;
            for (int i = small; i < large; i++) CrossOff(buf, len, primes[i], ref next[i], ref wheel[i]);
        }
        if (_large < _active) CrossBuckets(buf, len);
        // Zero the padding so whole-word counting of a partial tail sees no stray bits.
        Unsafe.InitBlockUnaligned(buf + len, 0, 64);
        _position += len;
    }

    private static void FixFirstBlock(byte* buf)
    {
        buf[0] &= 0xFE; // 1 is not prime
        byte* idx = Wheel30.ResidueIndex;
        foreach (byte p in PreSieve.Primes) buf[p / 30] |= (byte)(1 << idx[p % 30]);
    }

    /// <summary>
    /// Crosses off the multiples of <paramref name="p"/> in s[0 … end) starting at byte
    /// <paramref name="nextRef"/> with multiplier residue <paramref name="wheelRef"/>; leaves the state
    /// relative to s + end. Full turns of the wheel (8 multiples, p bytes) run unrolled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CrossOff(byte* s, long end, uint p, ref long nextRef, ref byte wheelRef)
    {
        long b = nextRef;
        if (b >= end)
        {
            nextRef = b - end;
            return;
        }
        long k = p / 30;
        int w = wheelRef;
        int rBase = Wheel30.ResidueIndex[p % 30] * 8;
        byte* mask = Wheel30.CrossMask + rBase;
        byte* corr = Wheel30.StepCorrection + rBase;
        byte* step = Wheel30.MultiplierStep;
        while (w != 0)
        {
            s[b] &= mask[w];
            b += k * step[w] + corr[w];
            w = (w + 1) & 7;
            if (b >= end) goto Done;
        }
        b = WheelKernels.CrossTurns(s, b, end, k, p, rBase >> 3);
        while (b < end)
        {
            s[b] &= mask[w];
            b += k * step[w] + corr[w];
            w = (w + 1) & 7;
        }
    Done:
        nextRef = b - end;
        wheelRef = (byte)w;
    }

    // Per byte parity the eight residues fall into the classes 1, 5, 7, 11 mod 12 (30 ≡ 6 mod 12, so
    // odd bytes shift every class by 6). Words start at even absolute bytes, so byte i of a word has
    // parity i & 1.
    internal const ulong Class1Mask = 0x2209220922092209UL;
    internal const ulong Class5Mask = 0x4490449044904490UL;
    internal const ulong Class7Mask = 0x0922092209220922UL;
    internal const ulong Class11Mask = 0x9044904490449044UL;

    /// <summary>Adds the primes in buf[0 … len) (len a multiple of 8) to the counts of classes 1, 5, 7, 11 mod 12.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CountClasses(byte* buf, int len, ref long c1, ref long c5, ref long c7, ref long c11)
    {
        ulong* w = (ulong*)buf;
        int n = len >> 3;
        long a = 0, b = 0, c = 0, d = 0;
        for (int i = 0; i < n; i++)
        {
            ulong x = w[i];
            a += BitOperations.PopCount(x & Class1Mask);
            b += BitOperations.PopCount(x & Class5Mask);
            c += BitOperations.PopCount(x & Class7Mask);
            d += BitOperations.PopCount(x & Class11Mask);
        }
        c1 += a; c5 += b; c7 += c; c11 += d;
    }

    /// <summary>Twin pairs whose lower member lies in buf[0 … len) and upper member too (pairs across the end are the caller's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long CountTwinsInside(byte* buf, int len)
    {
        ulong* w = (ulong*)buf;
        int n = len >> 3;
        long t = 0;
        // Pairs (11,13), (17,19) within a byte and (29, next byte's 1): bit j with bit j+1, at bits 2, 4, 7.
        const ulong lowerBits = 0x9494949494949494UL;
        for (int i = 0; i < n; i++)
        {
            ulong x = w[i];
            ulong up = (x >> 1) | (i + 1 < n ? w[i + 1] << 63 : 0UL);
            t += BitOperations.PopCount(x & up & lowerBits);
        }
        return t;
    }

    /// <summary>Number of set bits in buf[0 … len), len a multiple of 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long PopCount(byte* buf, int len)
    {
        ulong* w = (ulong*)buf;
        int n = len >> 3;
        long t = 0;
        for (int i = 0; i < n; i++) t += BitOperations.PopCount(w[i]);
        return t;
    }

    /// <summary>Clears the bits of numbers outside [lo, hi) in a block starting at absolute byte blockStart.</summary>
    public static void MaskRange(byte* buf, long blockStart, int len, long lo, long hi)
    {
        long loByte = lo / 30;
        if (loByte >= blockStart)
        {
            long rel = loByte - blockStart;
            if (rel < len)
            {
                Unsafe.InitBlockUnaligned(buf, 0, (uint)rel);
                buf[rel] &= Wheel30.BitsAtOrAbove(loByte, lo);
            }
            else
            {
                Unsafe.InitBlockUnaligned(buf, 0, (uint)len);
            }
        }
        long hiByte = (hi - 1) / 30; // last byte with numbers inside
        long relHi = hiByte - blockStart;
        if (relHi < len)
        {
            if (relHi < 0)
            {
                Unsafe.InitBlockUnaligned(buf, 0, (uint)len);
                return;
            }
            buf[relHi] &= Wheel30.BitsBelow(hiByte, hi);
            Unsafe.InitBlockUnaligned(buf + relHi + 1, 0, (uint)(len - relHi - 1));
        }
    }

    /// <summary>
    /// Writes the primes of a block (absolute start byte blockStart), skipping the first
    /// <paramref name="skip"/> set bits, into dst; returns how many were written.
    /// </summary>
    public static int Extract(byte* buf, long blockStart, int len, long skip, Span<long> dst)
    {
        ulong* w = (ulong*)buf;
        int n = len >> 3;
        int written = 0;
        ReadOnlySpan<byte> r = Wheel30.Residues;
        for (int i = 0; i < n && written < dst.Length; i++)
        {
            ulong x = w[i];
            if (x == 0) continue;
            if (skip > 0)
            {
                int pc = BitOperations.PopCount(x);
                if (pc <= skip) { skip -= pc; continue; }
                while (skip > 0) { x &= x - 1; skip--; }
            }
            long wordBase = 30 * (blockStart + 8L * i);
            while (x != 0 && written < dst.Length)
            {
                int bit = BitOperations.TrailingZeroCount(x);
                dst[written++] = wordBase + 30 * (bit >> 3) + r[bit & 7];
                x &= x - 1;
            }
        }
        return written;
    }

    /// <summary>True when the bit of <paramref name="value"/> (coprime to 30) is set in the block.</summary>
    public static bool BitOf(byte* buf, long blockStart, int len, long value, out bool present)
    {
        long rel = value / 30 - blockStart;
        present = rel >= 0 && rel < len;
        if (!present) return false;
        int j = Wheel30.ResidueIndex[value % 30];
        return j != 255 && (buf[rel] >> j & 1) != 0;
    }

    public long SegmentStart => _segStart;

    public void Dispose() => _block.Dispose();
}
