namespace Crystalline.Hpc.Model;

/// <summary>
/// The lattice embedding initialisation of LATTICE_MATH.md:
/// E[t, d] = tanh(3^(ring + pos/ringsize) · cos(angle · φ_{d mod 12}) · cos(2π·(t mod 12)/12) · tanh(1 + 0.1·ring + 0.01·d) / 100),
/// with ring, pos, angle from the Babylonian clock of index t.
/// </summary>
/// <remarks>A local copy of the formula while the Lattice area's LatticeEmbedding is not on main yet; the tests pin it against hand-computed values.</remarks>
internal static class LatticeInit
{
    private static readonly int[] s_phi = [3, 7, 31, 12, 19, 5, 11, 13, 17, 23, 29, 37];

    public static double Value(int token, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        (int ring, long pos, int ringSize, double angle) = Clock(token);
        double growth = Math.Pow(3.0, ring + (double)pos / ringSize);
        double x = growth * Math.Cos(angle * s_phi[column % 12]) * Math.Cos(2.0 * Math.PI * (token % 12) / 12.0)
                   * Math.Tanh(1.0 + 0.1 * ring + 0.01 * column) / 100.0;
        return Math.Tanh(x);
    }

    internal static (int Ring, long Position, int RingSize, double Angle) Clock(long i)
    {
        if (i < 12) return (0, i, 12, (i - 3) * 2.0 * Math.PI / 12.0);
        if (i < 72) { long p = i - 12; return (1, p, 60, (p - 15) * 2.0 * Math.PI / 60.0); }
        if (i < 132) { long p = i - 72; return (2, p, 60, (p - 15) * 2.0 * Math.PI / 60.0); }
        if (i < 232) { long p = i - 132; return (3, p, 100, (p - 25) * 2.0 * Math.PI / 100.0); }
        long q = i - 232;
        return (4, q, 1000, q * 2.0 * Math.PI / 1000.0);
    }
}
