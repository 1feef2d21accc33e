namespace Crystalline.Hpc.Lattice;

/// <summary>
/// The <c>--init lattice</c> token-embedding initialisation (docs/lattice-math.md):
/// E[t, d] = tanh( 3^(ring + pos/ringsize) · cos(angle · φ_{d mod 12}) · cos(2π·(t mod 12)/12)
///                 · tanh(1 + 0.1·ring + 0.01·d) / 100 ),
/// with ring, pos, angle and ringsize from <see cref="BabylonianClock.FromIndex"/> of t.
/// </summary>
/// <remarks>
/// The formula is the design's, kept exactly. Its growth factor 3^(ring + pos/ringsize) is large for
/// ring 4 (t ≥ 232): 3^(4 + pos/1000)/100 is about 1.9 at t = 1000, 51 at t = 4000 and 3.7·10^4 at
/// t = 10000, so for most rows of a GPT-2-sized vocabulary E is ±1 in float unless the cosine product
/// is tiny; beyond t ≈ 642,300 the double power overflows to +∞ and E is exactly ±1 (or 0, below).
/// Cosines are taken of the exactly reduced turn (pos − offset)·φ/ringsize and (t mod 12)/12, so a
/// factor that is 0 in exact arithmetic (t mod 12 = 3 or 9, or a quarter turn) is exactly 0 here too,
/// and E is then exactly 0. The result is never NaN.
/// </remarks>
public static class LatticeEmbedding
{
    /// <summary>E[token, column] as a float (the embedding's storage type).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="token"/> or <paramref name="column"/> is negative.</exception>
    public static float Value(int token, int column) => (float)ValueDouble(token, column);

    /// <summary>E[token, column] in double precision (before the final rounding to float).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="token"/> or <paramref name="column"/> is negative.</exception>
    public static double ValueDouble(int token, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ClockPosition c = BabylonianClock.FromIndex(token);
        double growth = Math.Pow(LatticeConstants.RecursiveBase, c.Ring + (double)c.Position / c.RingSize);
        int frequency = LatticeConstants.DimensionalFrequency(column % 12);
        // angle·φ = 2π·(pos − offset)·φ/ringsize: reduce the integer numerator modulo the ring size exactly.
        long turns = (c.Position - s_ringOffset[c.Ring]) * frequency;
        double cosines = CosOfTurn(turns, c.RingSize) * CosOfTurn(token % 12, 12);
        // 3^x is finite in exact arithmetic, so a zero cosine gives 0 even where the double power overflowed.
        if (cosines == 0.0) return 0.0;
        double x = growth * cosines * Math.Tanh(1.0 + 0.1 * c.Ring + 0.01 * column) / 100.0;
        return Math.Tanh(x);
    }

    // The offsets in each ring's angle formula (pos − offset)·2π/ringsize; see BabylonianClock.FromIndex.
    private static readonly int[] s_ringOffset = [3, 15, 15, 25, 0];

    // cos(2π·1/12·j) for j = 0…11, exact where the value is rational (0, ±1/2, ±1).
    private static readonly double[] s_cosTwelfths =
        [1.0, 0.8660254037844386, 0.5, 0.0, -0.5, -0.8660254037844386, -1.0, -0.8660254037844386, -0.5, 0.0, 0.5, 0.8660254037844386];

    /// <summary>
    /// cos(2π·numerator/denominator), with the fraction reduced exactly first, so angles on a
    /// twelfth of a turn give their exact cosines (cos(π/2) is 0, not 6e-17) and large angles lose nothing.
    /// </summary>
    internal static double CosOfTurn(long numerator, int denominator)
    {
        long r = numerator % denominator;
        if (r < 0) r += denominator;
        if (12 * r % denominator == 0) return s_cosTwelfths[12 * r / denominator];
        return Math.Cos(Math.Tau * r / denominator);
    }

    /// <summary>Fills <paramref name="destination"/> (row-major, vocab rows × <paramref name="columns"/>) with E.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="columns"/>, or columns &lt; 1.</exception>
    public static void Fill(Span<float> destination, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (destination.Length % columns != 0)
            throw new ArgumentException($"the destination length {destination.Length} is not a multiple of {columns} columns", nameof(destination));
        int rows = destination.Length / columns;
        for (int t = 0; t < rows; t++)
            for (int d = 0; d < columns; d++)
                destination[t * columns + d] = Value(t, d);
    }

    /// <summary>A token's symmetry group: t mod 12.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="token"/> is negative.</exception>
    public static int SymmetryGroup(int token)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        return token % 12;
    }
}
