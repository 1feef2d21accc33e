namespace Crystalline.Hpc.Primes;

/// <summary>The parent's sieving primes: every prime in [167, limit), built by the abacus's own sieve.</summary>
internal readonly record struct SievingPrimeList(uint[] Primes, int Count);

internal static unsafe class BasePrimes
{
    private const long SimpleSieveLimit = 1L << 22;

    /// <summary>Primes p with 167 ≤ p &lt; <paramref name="limit"/> (limit ≤ 2^32), ascending.</summary>
    public static SievingPrimeList Below(long limit)
    {
        if (limit > (1L << 32)) throw new ArgumentOutOfRangeException(nameof(limit), limit, "sieving primes are 32-bit");
        if (limit <= SimpleSieveLimit) return Simple(limit);
        // The base of the base: primes up to √limit, then the segmented sieve enumerates the rest.
        var inner = Below(HierarchicalAbacus.ISqrt(limit - 1) + 1);
        uint[] primes = new uint[UpperBoundPi(limit)];
        int count = 0;
        const int block = 256 * 1024;
        using var worker = new SieveWorker(block, 32 * 1024);
        long end = (((limit - 1) / 30 + 1) + 7) & ~7L;
        worker.BeginSegment(inner.Primes, inner.Count, 0, end);
        for (long pos = 0; pos < end; pos += block)
        {
            int len = (int)Math.Min(block, end - pos);
            worker.SieveNextBlock(len);
            SieveWorker.MaskRange(worker.Buffer, pos, len, 167, limit);
            count += ExtractUInt(worker.Buffer, pos, len, primes.AsSpan(count));
        }
        return new SievingPrimeList(primes, count);
    }

    private static int ExtractUInt(byte* buf, long blockStart, int len, Span<uint> dst)
    {
        ulong* w = (ulong*)buf;
        int n = len >> 3, written = 0;
        ReadOnlySpan<byte> r = Wheel30.Residues;
        for (int i = 0; i < n; i++)
        {
            ulong x = w[i];
            long wordBase = 30 * (blockStart + 8L * i);
            while (x != 0)
            {
                int bit = System.Numerics.BitOperations.TrailingZeroCount(x);
                dst[written++] = (uint)(wordBase + 30 * (bit >> 3) + r[bit & 7]);
                x &= x - 1;
            }
        }
        return written;
    }

    // Rosser–Schoenfeld: π(x) < 1.25506 x / ln x for x > 1.
    private static int UpperBoundPi(long x) => (int)Math.Min(int.MaxValue - 64, 1.25506 * x / Math.Log(x) + 64);

    private static SievingPrimeList Simple(long limit)
    {
        int n = (int)Math.Max(limit, 2);
        var composite = new bool[n];
        for (long i = 2; i * i < n; i++)
        {
            if (composite[i]) continue;
            for (long j = i * i; j < n; j += i) composite[j] = true;
        }
        var list = new List<uint>();
        for (int i = 167; i < n; i++) if (!composite[i]) list.Add((uint)i);
        return new SievingPrimeList(list.ToArray(), list.Count);
    }
}
