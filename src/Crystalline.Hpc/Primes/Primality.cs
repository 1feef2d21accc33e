namespace Crystalline.Hpc.Primes;

/// <summary>Primality of a single 64-bit number: trial division by small primes, then a deterministic Miller–Rabin.</summary>
public static class Primality
{
    // These bases make Miller–Rabin exact for every n < 2^64 (Jim Sinclair's set).
    private static readonly ulong[] s_bases = [2, 325, 9375, 28178, 450775, 9780504, 1795265022];
    private static readonly uint[] s_smallPrimes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97];

    /// <summary>True when <paramref name="n"/> is prime. Exact for every 64-bit value.</summary>
    public static bool IsPrime(ulong n)
    {
        if (n < 2) return false;
        foreach (uint p in s_smallPrimes)
        {
            if (n == p) return true;
            if (n % p == 0) return false;
        }
        if (n < 97UL * 97UL) return true;
        ulong d = n - 1;
        int r = 0;
        while ((d & 1) == 0) { d >>= 1; r++; }
        foreach (ulong b in s_bases)
        {
            ulong a = b % n;
            if (a == 0) continue;
            ulong x = PowMod(a, d, n);
            if (x == 1 || x == n - 1) continue;
            bool composite = true;
            for (int i = 1; i < r; i++)
            {
                x = MulMod(x, x, n);
                if (x == n - 1) { composite = false; break; }
            }
            if (composite) return false;
        }
        return true;
    }

    /// <summary>True when <paramref name="n"/> is prime (negative numbers are not).</summary>
    public static bool IsPrime(long n) => n >= 2 && IsPrime((ulong)n);

    internal static ulong MulMod(ulong a, ulong b, ulong m) => (ulong)((UInt128)a * b % m);

    internal static ulong PowMod(ulong b, ulong e, ulong m)
    {
        ulong result = 1;
        b %= m;
        while (e > 0)
        {
            if ((e & 1) != 0) result = MulMod(result, b, m);
            b = MulMod(b, b, m);
            e >>= 1;
        }
        return result;
    }
}
