namespace Crystalline.Hpc.Lattice;

/// <summary>
/// The 144000 boundary (docs/lattice-math.md): boundary partitions, the Λ correction, "near 144000",
/// and boundary crossings of a cumulative token count.
/// </summary>
public static class Boundary144000
{
    /// <summary>
    /// True when the integer range [<paramref name="start"/>, <paramref name="end"/>] (both inclusive)
    /// contains 143999 or 144001.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="end"/> &lt; <paramref name="start"/>.</exception>
    public static bool IsBoundaryPartition(long start, long end)
    {
        if (end < start) throw new ArgumentException($"the range [{start}, {end}] is empty: end < start", nameof(end));
        return Contains(start, end, LatticeConstants.TwinPrimeLower) || Contains(start, end, LatticeConstants.TwinPrimeUpper);
    }

    /// <summary>Λ for a boundary partition [start, end], else 0.</summary>
    /// <exception cref="ArgumentException"><paramref name="end"/> &lt; <paramref name="start"/>.</exception>
    public static double LambdaCorrection(long start, long end) =>
        IsBoundaryPartition(start, end) ? LatticeConstants.Lambda : 0.0;

    /// <summary>True when |p − 144000| ≤ 100.</summary>
    public static bool IsNear(long p) =>
        p >= LatticeConstants.VectorCulmination - LatticeConstants.NearRadius
        && p <= LatticeConstants.VectorCulmination + LatticeConstants.NearRadius;

    /// <summary>
    /// How many multiples of 144000 lie in (<paramref name="tokensBefore"/>, <paramref name="tokensAfter"/>]:
    /// the boundary crossings when a cumulative token count moves from before to after.
    /// Equal arguments give 0. Negative counts are accepted (floor division keeps the count exact).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="tokensAfter"/> &lt; <paramref name="tokensBefore"/>.</exception>
    public static long CrossingsBetween(long tokensBefore, long tokensAfter)
    {
        if (tokensAfter < tokensBefore)
            throw new ArgumentException($"a token count cannot go backwards: after ({tokensAfter}) < before ({tokensBefore})", nameof(tokensAfter));
        return FloorDiv(tokensAfter, LatticeConstants.VectorCulmination) - FloorDiv(tokensBefore, LatticeConstants.VectorCulmination);
    }

    private static bool Contains(long start, long end, long v) => start <= v && v <= end;

    private static long FloorDiv(long a, long b)
    {
        long q = a / b;
        return (a % b != 0 && a < 0) ? q - 1 : q;
    }
}
