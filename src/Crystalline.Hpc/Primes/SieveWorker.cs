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
    private long _segStart;  // absolute byte index where the current segment starts
    private long _position;  // absolute byte index the crossing state refers to

    public SieveWorker(int blockBytes, int chunkBytes)
    {
        if (blockBytes <= 0 || blockBytes % 64 != 0) throw new ArgumentOutOfRangeException(nameof(blockBytes));
        BlockBytes = blockBytes;
        ChunkBytes = Math.Min(chunkBytes, blockBytes);
        // 64 bytes of slack for vector overruns, and the zero tail of a partial block.
        _block = new AlignedBuffer<byte>(blockBytes + 128);
    }

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

        // Within the small and the large part, order the primes by residue class mod 30: consecutive
        // primes then take the same branch into the unrolled loop, which the predictor learns.
        byte* resIdx = Wheel30.ResidueIndex;
        GroupByResidue(sievingPrimes, 0, s, _primes, resIdx);
        GroupByResidue(sievingPrimes, s, _active, _primes, resIdx);

        ulong startValue = 30UL * (ulong)segStart;
        byte* nextDelta = Wheel30.NextCoprimeDelta;
        for (int i = 0; i < _active; i++)
        {
            ulong p = _primes[i];
            ulong q = Wheel30.CeilDiv(startValue, p);
            if (q < p) q = p;
            q += nextDelta[q % 30];
            ulong byteIndex = p * q / 30;
            _next[i] = (long)(byteIndex - (ulong)segStart);
            _wheel[i] = resIdx[q % 30];
        }
        _segStart = segStart;
        _position = segStart;
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
            int active = _active;
            for (int i = small; i < active; i++) CrossOff(buf, len, primes[i], ref next[i], ref wheel[i]);
        }
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
