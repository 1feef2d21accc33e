using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Primes;

/// <summary>
/// The mod-30 wheel: byte b of a sieve holds the eight numbers 30·b + {1, 7, 11, 13, 17, 19, 23, 29}
/// (the residues coprime to 2, 3 and 5), bit j for residue j. Multiples of a sieving prime p are
/// p·q with q coprime to 30, so q steps through the same eight residues; the tables below give, for
/// p's residue index and q's residue index, which bit p·q clears and how far the next multiple is.
/// </summary>
internal static unsafe class Wheel30
{
    public const int ResidueCount = 8;

    /// <summary>The residues coprime to 30, in bit order.</summary>
    public static ReadOnlySpan<byte> Residues => [1, 7, 11, 13, 17, 19, 23, 29];

    // Tables live in native memory so the JIT sees constant base pointers and no bounds checks.
    /// <summary>Index 0…7 of (n mod 30) in <see cref="Residues"/>, or 255 when n mod 30 is not coprime to 30.</summary>
    public static readonly byte* ResidueIndex;

    /// <summary>Smallest d ≥ 0 with (m + d) coprime to 30, for m = 0 … 29.</summary>
    public static readonly byte* NextCoprimeDelta;

    /// <summary>[rIdx·8 + sIdx]: AND mask that clears p·q, for p ≡ R[rIdx], q ≡ R[sIdx] (mod 30).</summary>
    public static readonly byte* CrossMask;

    /// <summary>[sIdx]: distance from q ≡ R[sIdx] to the next multiplier coprime to 30.</summary>
    public static readonly byte* MultiplierStep;

    /// <summary>[rIdx·8 + sIdx]: byte step is k·MultiplierStep[sIdx] + StepCorrection[…], with p = 30k + R[rIdx].</summary>
    public static readonly byte* StepCorrection;

    /// <summary>[rIdx·8 + i]: byte offset of p·(30j + R[i]) from p·(30j + 1) is k·(R[i] − 1) + CycleOffset[…].</summary>
    public static readonly byte* CycleOffset;

    static Wheel30()
    {
        ReadOnlySpan<byte> r = Residues;
        ResidueIndex = Alloc(30);
        NextCoprimeDelta = Alloc(30);
        CrossMask = Alloc(64);
        MultiplierStep = Alloc(8);
        StepCorrection = Alloc(64);
        CycleOffset = Alloc(64);
        for (int m = 0; m < 30; m++) ResidueIndex[m] = 255;
        for (int i = 0; i < 8; i++) ResidueIndex[r[i]] = (byte)i;
        for (int m = 0; m < 30; m++)
        {
            int d = 0;
            while (ResidueIndex[(m + d) % 30] == 255) d++;
            NextCoprimeDelta[m] = (byte)d;
        }
        for (int s = 0; s < 8; s++) MultiplierStep[s] = (byte)((s == 7 ? 31 : r[s + 1]) - r[s]);
        for (int ri = 0; ri < 8; ri++)
        {
            for (int s = 0; s < 8; s++)
            {
                int rp = r[ri], rq = r[s];
                CrossMask[ri * 8 + s] = (byte)~(1 << ResidueIndex[rp * rq % 30]);
                int nextQ = rq + MultiplierStep[s]; // may be 31: the next turn of the wheel
                StepCorrection[ri * 8 + s] = (byte)(rp * nextQ / 30 - rp * rq / 30);
                CycleOffset[ri * 8 + s] = (byte)(rp * rq / 30);
            }
        }
    }

    private static byte* Alloc(int n)
    {
        var p = (byte*)NativeMemory.AllocZeroed((nuint)n);
        return p;
    }

    /// <summary>Bits of byte <paramref name="b"/> whose numbers are ≥ <paramref name="lo"/>.</summary>
    public static byte BitsAtOrAbove(long b, long lo)
    {
        int m = 0;
        ReadOnlySpan<byte> r = Residues;
        long rest = lo - 30 * b; // 30·b ≤ lo here; compare without forming 30·b + r (overflow near 2^63)
        for (int j = 0; j < 8; j++) if (r[j] >= rest) m |= 1 << j;
        return (byte)m;
    }

    /// <summary>Bits of byte <paramref name="b"/> whose numbers are &lt; <paramref name="hi"/>.</summary>
    public static byte BitsBelow(long b, long hi)
    {
        int m = 0;
        ReadOnlySpan<byte> r = Residues;
        long rest = hi - 30 * b;
        for (int j = 0; j < 8; j++) if (r[j] < rest) m |= 1 << j;
        return (byte)m;
    }

    /// <summary>Ceiling of a/b for non-negative values.</summary>
    public static ulong CeilDiv(ulong a, ulong b) => a / b + (a % b != 0 ? 1UL : 0UL);
}
