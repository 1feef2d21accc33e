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
        double cosines = RingCos(c.Ring, turns) * CosOfTurn(token % 12, 12);
        // 3^x is finite in exact arithmetic, so a zero cosine gives 0 even where the double power overflowed.
        if (cosines == 0.0) return 0.0;
        double x = growth * cosines * Math.Tanh(1.0 + 0.1 * c.Ring + 0.01 * column) / 100.0;
        return Math.Tanh(x);
    }

    // The offsets in each ring's angle formula (pos − offset)·2π/ringsize; see BabylonianClock.FromIndex.
    private static readonly int[] s_ringOffset = [3, 15, 15, 25, 0];
    private static readonly int[] s_ringSize = [12, 60, 60, 100, 1000];

    private static double[][] BuildRingCosines()
    {
        var tables = new double[s_ringSize.Length][];
        for (int ring = 0; ring < tables.Length; ring++)
        {
            int size = s_ringSize[ring];
            tables[ring] = new double[size];
            for (int r = 0; r < size; r++) tables[ring][r] = CosOfTurn(r, size);
        }
        return tables;
    }

    private static double RingCos(int ring, long turns)
    {
        int size = s_ringSize[ring];
        long r = turns % size;
        return s_ringCos[ring][r < 0 ? r + size : r];
    }

    // cos(2π·1/12·j) for j = 0…11, exact where the value is rational (0, ±1/2, ±1).
    private static readonly double[] s_cosTwelfths =
        [1.0, 0.8660254037844386, 0.5, 0.0, -0.5, -0.8660254037844386, -1.0, -0.8660254037844386, -0.5, 0.0, 0.5, 0.8660254037844386];

    // cos(2π·r/ringsize) for every r of every ring: each angle·φ lands on one of these after exact reduction.
    // Declared after s_cosTwelfths: static fields initialise in text order and this one uses it.
    private static readonly double[][] s_ringCos = BuildRingCosines();

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

    /// <summary>
    /// Fills <paramref name="destination"/> (row-major, rows × <paramref name="columns"/>) with E, row t
    /// being token t. Bitwise equal to calling <see cref="Value"/> for every element, with the per-row
    /// factors computed once per row.
    /// </summary>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="columns"/>, or columns &lt; 1.</exception>
    public static void Fill(Span<float> destination, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (destination.Length % columns != 0)
            throw new ArgumentException($"the destination length {destination.Length} is not a multiple of {columns} columns", nameof(destination));
        int rows = destination.Length / columns;
        // tanh(1 + 0.1·ring + 0.01·d) depends only on the ring and the column: one table per ring, built when first needed.
        var ringTanh = new double[s_ringSize.Length][];
        for (int t = 0; t < rows; t++)
        {
            Span<float> row = destination.Slice(t * columns, columns);
            ClockPosition c = BabylonianClock.FromIndex(t);
            double cosToken = CosOfTurn(t % 12, 12);
            if (cosToken == 0.0) { row.Clear(); continue; }
            double growth = Math.Pow(LatticeConstants.RecursiveBase, c.Ring + (double)c.Position / c.RingSize);
            long offset = c.Position - s_ringOffset[c.Ring];
            double[] tanhColumn = ringTanh[c.Ring] ??= BuildTanhColumns(c.Ring, columns);
            double[] cosTable = s_ringCos[c.Ring];
            int size = c.RingSize;
            for (int d = 0; d < columns; d++)
            {
                // Same expression and order as ValueDouble, so the results agree bit for bit.
                long r = offset * LatticeConstants.DimensionalFrequency(d % 12) % size;
                double cosines = cosTable[r < 0 ? r + size : r] * cosToken;
                row[d] = cosines == 0.0 ? 0f : (float)Math.Tanh(growth * cosines * tanhColumn[d] / 100.0);
            }
        }
    }

    private static double[] BuildTanhColumns(int ring, int columns)
    {
        var v = new double[columns];
        for (int d = 0; d < columns; d++) v[d] = Math.Tanh(1.0 + 0.1 * ring + 0.01 * d);
        return v;
    }

    /// <summary>A token's symmetry group: t mod 12.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="token"/> is negative.</exception>
    public static int SymmetryGroup(int token)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        return token % 12;
    }
}
