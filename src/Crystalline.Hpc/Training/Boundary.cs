namespace Crystalline.Hpc.Training;

/// <summary>144000-token boundary crossings (LATTICE_MATH.md): how many multiples of 144000 lie in (before, after].</summary>
/// <remarks>Local until the Lattice area's Boundary144000.CrossingsBetween is on main.</remarks>
internal static class Boundary
{
    public const long VectorCulmination = 144000;
    /// <summary>Λ = 3/144000.</summary>
    public const double Lambda = 3.0 / 144000.0;

    public static long CrossingsBetween(long before, long after)
    {
        if (before < 0 || after < before) throw new ArgumentOutOfRangeException(nameof(after), "need 0 ≤ before ≤ after");
        return after / VectorCulmination - before / VectorCulmination;
    }
}
