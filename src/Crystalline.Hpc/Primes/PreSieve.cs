using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Primes;

/// <summary>
/// Pre-sieving: the multiples of the primes 7 … 163 repeat with a period of their product (in wheel
/// bytes), so instead of crossing them off in every block the block is filled by AND-ing a few
/// precomputed periodic patterns (each the product of 2–4 primes, ≤ ~110 KB). That is a handful of
/// vector passes per block instead of millions of single-byte writes — the small primes are the most
/// expensive ones to sieve.
/// </summary>
internal static unsafe class PreSieve
{
    /// <summary>Primes ≥ this are sieved normally; the ones below (from 7) are in the patterns.</summary>
    public const uint FirstSievedPrime = 167;

    // Each group's product is its pattern period in bytes. The grouping keeps periods small enough to
    // stay in L2 while using few passes.
    private static readonly uint[][] s_groups =
    [
        [7, 11, 13, 17], [19, 23, 29], [31, 37, 41], [43, 47, 53],
        [59, 61], [67, 71], [73, 79], [83, 89],
        [97, 101], [103, 107], [109, 113], [127, 131],
        [137, 139], [149, 151], [157, 163],
    ];

    // Patterns are read with vector loads that may run up to 63 bytes past the period: the first
    // bytes are repeated there so the overrun reads the right (periodic) values.
    private const int Pad = 64;

    private static readonly byte*[] s_patterns;
    private static readonly int[] s_periods;

    static PreSieve()
    {
        s_patterns = new byte*[s_groups.Length];
        s_periods = new int[s_groups.Length];
        ReadOnlySpan<byte> r = Wheel30.Residues;
        for (int g = 0; g < s_groups.Length; g++)
        {
            int period = 1;
            foreach (uint p in s_groups[g]) period *= (int)p;
            byte* pat = (byte*)NativeMemory.AlignedAlloc((nuint)(period + Pad), 64);
            for (int i = 0; i < period; i++)
            {
                int bits = 0;
                for (int j = 0; j < 8; j++)
                {
                    long v = 30L * i + r[j];
                    bool crossed = false;
                    foreach (uint p in s_groups[g]) if (v % p == 0) { crossed = true; break; }
                    if (!crossed) bits |= 1 << j;
                }
                pat[i] = (byte)bits;
            }
            for (int i = 0; i < Pad; i++) pat[period + i] = pat[i % period];
            s_patterns[g] = pat;
            s_periods[g] = period;
        }
    }

    /// <summary>The pre-sieved primes themselves (they are prime but their patterns clear them).</summary>
    public static ReadOnlySpan<byte> Primes =>
    [
        7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163,
    ];

    /// <summary>
    /// Fills <paramref name="dst"/>[0 … len) with the pattern of wheel bytes starting at absolute byte
    /// <paramref name="absByte"/>. May write up to 63 bytes past len (the caller's buffer is padded).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill(byte* dst, long absByte, int len)
    {
        int groups = s_groups.Length;
        // Four patterns per pass: the first pass writes, the others AND.
        for (int g0 = 0; g0 < groups; g0 += 4)
        {
            int n = Math.Min(4, groups - g0);
            byte* p0 = s_patterns[g0];
            byte* p1 = n > 1 ? s_patterns[g0 + 1] : null;
            byte* p2 = n > 2 ? s_patterns[g0 + 2] : null;
            byte* p3 = n > 3 ? s_patterns[g0 + 3] : null;
            int l0 = s_periods[g0];
            int l1 = n > 1 ? s_periods[g0 + 1] : int.MaxValue;
            int l2 = n > 2 ? s_periods[g0 + 2] : int.MaxValue;
            int l3 = n > 3 ? s_periods[g0 + 3] : int.MaxValue;
            int o0 = (int)(absByte % l0);
            int o1 = n > 1 ? (int)(absByte % l1) : 0;
            int o2 = n > 2 ? (int)(absByte % l2) : 0;
            int o3 = n > 3 ? (int)(absByte % l3) : 0;
            bool first = g0 == 0;
            int i = 0;
            while (i < len)
            {
                int chunk = len - i;
                chunk = Math.Min(chunk, l0 - o0);
                if (n > 1) chunk = Math.Min(chunk, l1 - o1);
                if (n > 2) chunk = Math.Min(chunk, l2 - o2);
                if (n > 3) chunk = Math.Min(chunk, l3 - o3);
                // Pad-sized overrun reads stay inside each pattern's repeated tail.
                int vlen = (chunk + 63) & ~63;
                byte* d = dst + i;
                switch (n)
                {
                    case 4: Combine4(d, p0 + o0, p1 + o1, p2 + o2, p3 + o3, vlen, first); break;
                    case 3: Combine4(d, p0 + o0, p1 + o1, p2 + o2, p2 + o2, vlen, first); break;
                    case 2: Combine4(d, p0 + o0, p1 + o1, p1 + o1, p1 + o1, vlen, first); break;
                    default: Combine4(d, p0 + o0, p0 + o0, p0 + o0, p0 + o0, vlen, first); break;
                }
                i += chunk;
                o0 += chunk; if (o0 == l0) o0 = 0;
                if (n > 1) { o1 += chunk; if (o1 == l1) o1 = 0; }
                if (n > 2) { o2 += chunk; if (o2 == l2) o2 = 0; }
                if (n > 3) { o3 += chunk; if (o3 == l3) o3 = 0; }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Combine4(byte* d, byte* a, byte* b, byte* c, byte* e, int vlen, bool write)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            for (int i = 0; i < vlen; i += 64)
            {
                var v = Vector512.Load(a + i) & Vector512.Load(b + i) & Vector512.Load(c + i) & Vector512.Load(e + i);
                if (!write) v &= Vector512.Load(d + i);
                v.Store(d + i);
            }
        }
        else
        {
            for (int i = 0; i < vlen; i += 16)
            {
                var v = Vector128.Load(a + i) & Vector128.Load(b + i) & Vector128.Load(c + i) & Vector128.Load(e + i);
                if (!write) v &= Vector128.Load(d + i);
                v.Store(d + i);
            }
        }
    }
}
