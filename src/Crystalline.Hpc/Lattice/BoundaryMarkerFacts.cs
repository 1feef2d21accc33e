using Crystalline.Hpc.Primes;

namespace Crystalline.Hpc.Lattice;

/// <summary>
/// The plain arithmetic truth about the boundary markers, computed with the exact primality test
/// (never taken from the design's wording): small scans only, for the CLI and the docs' claims.
/// </summary>
internal static class BoundaryMarkerFacts
{
    /// <summary>True when (a, b) is a twin-prime pair: b = a + 2 and both prime.</summary>
    public static bool IsTwinPrimePair(long a, long b) => b == a + 2 && Primality.IsPrime(a) && Primality.IsPrime(b);

    /// <summary>The smallest prime factor of n ≥ 2 (n itself when n is prime), by trial division.</summary>
    public static long SmallestFactor(long n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 2);
        if (n % 2 == 0) return 2;
        for (long d = 3; d * d <= n; d += 2)
            if (n % d == 0) return d;
        return n;
    }

    /// <summary>The smallest prime &gt; n.</summary>
    public static long NextPrimeAfter(long n)
    {
        for (long v = Math.Max(n + 1, 2); ; v++)
            if (Primality.IsPrime(v)) return v;
    }

    /// <summary>The nearest twin pair (q, q+2) below n: the largest q with q + 2 &lt; n.</summary>
    public static (long Lower, long Upper) NearestTwinPairBelow(long n)
    {
        for (long q = n - 3; q >= 3; q--)
            if (IsTwinPrimePair(q, q + 2)) return (q, q + 2);
        throw new ArgumentOutOfRangeException(nameof(n), n, "no twin-prime pair lies below n");
    }

    /// <summary>The nearest twin pair (q, q+2) with q &gt; n.</summary>
    public static (long Lower, long Upper) NearestTwinPairAbove(long n)
    {
        for (long q = n + 1; ; q++)
            if (IsTwinPrimePair(q, q + 2)) return (q, q + 2);
    }
}
