using System.Numerics;
using Crystalline.Hpc.Primes;

namespace Crystalline.Hpc.Lattice;

/// <summary>
/// The index k of a prime (p is the k-th prime, p₁ = 2) for θ's spiral term, by a plain segmented,
/// odd-only bit sieve. Deliberately simple and single-threaded, limited to p ≤ <see cref="MaxPrime"/>;
/// the hierarchical abacus (Crystalline.Hpc.Primes) is the engine for large counts.
/// </summary>
internal static class PrimeIndex
{
    /// <summary>The largest p this helper indexes (2·10^9: a few seconds on one core).</summary>
    public const long MaxPrime = 2_000_000_000;

    private const int SegmentOdds = 1 << 18; // odd numbers per segment: 32 KiB of bits

    /// <summary>k with p the k-th prime.</summary>
    /// <exception cref="ArgumentOutOfRangeException">p is not a prime, or above <see cref="MaxPrime"/>.</exception>
    public static long IndexOf(long p)
    {
        if (p > MaxPrime) throw new ArgumentOutOfRangeException(nameof(p), p, $"the prime index is computed only for p ≤ {MaxPrime}");
        if (!Primality.IsPrime(p)) throw new ArgumentOutOfRangeException(nameof(p), p, $"{p} is not prime, so it has no prime index");
        return CountUpTo(p);
    }

    /// <summary>π(n): the number of primes ≤ n, for n ≤ <see cref="MaxPrime"/>.</summary>
    public static long CountUpTo(long n)
    {
        if (n > MaxPrime) throw new ArgumentOutOfRangeException(nameof(n), n, $"counts only up to {MaxPrime}");
        if (n < 2) return 0;
        if (n < 3) return 1;
        // Odd numbers 3, 5, …, up to n: index j stands for 2j + 3.
        long oddCount = (n - 1) / 2;
        int root = (int)Math.Sqrt(n);
        while ((long)(root + 1) * (root + 1) <= n) root++;
        int[] basePrimes = SmallOddPrimes(root);
        ulong[] bits = new ulong[SegmentOdds / 64];
        long count = 1; // the prime 2
        for (long segStart = 0; segStart < oddCount; segStart += SegmentOdds)
        {
            int len = (int)Math.Min(SegmentOdds, oddCount - segStart);
            Array.Clear(bits);
            long lowValue = 2 * segStart + 3;
            long highValue = 2 * (segStart + len - 1) + 3;
            foreach (int q in basePrimes)
            {
                long q2 = (long)q * q;
                if (q2 > highValue) break;
                // First odd multiple of q that is ≥ max(q², lowValue).
                long m = Math.Max(q2, (lowValue + q - 1) / q * q);
                if ((m & 1) == 0) m += q;
                for (long j = (m - 3) / 2 - segStart; j < len; j += q) bits[j >> 6] |= 1UL << (int)(j & 63);
            }
            int full = len >> 6;
            long composites = 0;
            for (int w = 0; w < full; w++) composites += BitOperations.PopCount(bits[w]);
            int rest = len & 63;
            if (rest != 0) composites += BitOperations.PopCount(bits[full] & ((1UL << rest) - 1));
            count += len - composites;
        }
        return count;
    }

    private static int[] SmallOddPrimes(int limit)
    {
        if (limit < 3) return [];
        var composite = new bool[limit + 1];
        var list = new List<int>();
        for (int i = 3; i <= limit; i += 2)
        {
            if (composite[i]) continue;
            list.Add(i);
            for (long j = (long)i * i; j <= limit; j += 2 * i) composite[j] = true;
        }
        return [.. list];
    }
}
