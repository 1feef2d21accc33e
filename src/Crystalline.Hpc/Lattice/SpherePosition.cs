using Crystalline.Hpc.Primes;

namespace Crystalline.Hpc.Lattice;

/// <summary>
/// A sphere's share of an integer range: the half-open range [lo, hi) is cut into
/// <c>sphereCount</c> (12 by default) <b>contiguous</b> blocks of as-equal-as-possible length
/// (the first hi−lo mod count blocks one longer), block s going to sphere s. Contiguous blocks
/// are chosen so a sphere's part is one interval that the boundary and prime checks can reason
/// about; the prime engine's own dealing of sieve segments is round robin and is separate.
/// </summary>
/// <param name="Sphere">The sphere index s in [0, count).</param>
/// <param name="SymmetryGroup">s mod 12.</param>
/// <param name="Start">The first integer of the part.</param>
/// <param name="End">One past the last integer of the part (End == Start for an empty part).</param>
public readonly record struct SpherePosition(int Sphere, int SymmetryGroup, long Start, long End)
{
    /// <summary>How many integers the part holds.</summary>
    public long Count => End - Start;

    /// <summary>Sphere <paramref name="sphere"/>'s part of [<paramref name="lo"/>, <paramref name="hi"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="hi"/> &lt; <paramref name="lo"/>, the sphere is outside [0, count), or count &lt; 1.</exception>
    public static SpherePosition Of(long lo, long hi, int sphere, int sphereCount = LatticeConstants.SymmetryGroupCount)
    {
        if (hi < lo) throw new ArgumentException($"the range [{lo}, {hi}) has hi < lo", nameof(hi));
        if (sphereCount < 1) throw new ArgumentOutOfRangeException(nameof(sphereCount), sphereCount, "there must be at least one sphere");
        if (sphere < 0 || sphere >= sphereCount) throw new ArgumentOutOfRangeException(nameof(sphere), sphere, $"sphere must be in [0, {sphereCount})");
        UInt128 length = (UInt128)(ulong)(hi - lo); // hi − lo fits in ulong even when it overflows long
        UInt128 baseLength = length / (uint)sphereCount;
        UInt128 extra = length % (uint)sphereCount;
        UInt128 s = (uint)sphere;
        UInt128 offset = s * baseLength + UInt128.Min(s, extra);
        UInt128 size = baseLength + (s < extra ? UInt128.One : UInt128.Zero);
        long start = lo + (long)(ulong)offset;
        long end = start + (long)(ulong)size;
        return new SpherePosition(sphere, LatticeConstants.SymmetryGroupOf(sphere), start, end);
    }

    /// <summary>True when the part holds 143999 or 144001 (a boundary partition).</summary>
    public bool IsBoundaryPartition => Count > 0 && Boundary144000.IsBoundaryPartition(Start, End - 1);

    /// <summary>
    /// True when the part holds at least one prime: tests Start, Start+1, … with the exact
    /// Miller–Rabin until a prime or End. Prime gaps below 2^64 are under 1600, so this stops early.
    /// </summary>
    public bool ContainsPrime()
    {
        for (long v = Math.Max(Start, 2); v < End; v++)
            if (Primality.IsPrime(v)) return true;
        return false;
    }
}
