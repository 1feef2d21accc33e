namespace Crystalline.Hpc.Lattice;

/// <summary>One Plimpton 322 triple (a, b, c) as the design lists it.</summary>
/// <param name="A">The first leg.</param>
/// <param name="B">The second leg.</param>
/// <param name="C">The hypotenuse.</param>
public readonly record struct PlimptonTriple(long A, long B, long C)
{
    /// <summary>True when a² + b² = c².</summary>
    public bool IsPythagorean => A * A + B * B == C * C;
}

/// <summary>
/// The design's lattice constants (docs/lattice-math.md). Names such as "Einstein's Λ", "twin
/// primes", "cymatic" and "Plimpton" are the design's own names for these numbers, nothing more.
/// </summary>
/// <remarks>
/// The boundary markers <see cref="TwinPrimeLower"/> (143999) and <see cref="TwinPrimeUpper"/> (144001)
/// keep the design's names, but they are not a twin-prime pair: 143999 is prime, 144001 = 11 × 13091
/// is composite. The primality engine reports that truth; nothing here bends it.
/// </remarks>
public static class LatticeConstants
{
    /// <summary>The number of symmetry groups ("kissing spheres"): 12.</summary>
    public const int SymmetryGroupCount = 12;

    /// <summary>The vector culmination 144000 = 3 · 12³ · (250/9).</summary>
    public const long VectorCulmination = 144_000;

    /// <summary>The lower boundary marker 143999 (prime: the 13,343rd prime).</summary>
    public const long TwinPrimeLower = 143_999;

    /// <summary>The upper boundary marker 144001 (composite: 11 × 13091). Named "twin prime" by the design only.</summary>
    public const long TwinPrimeUpper = 144_001;

    /// <summary>Λ ("Einstein's Λ" in the design) = 3/144000 = 1/48000, as the nearest double 2.0833333333333333e-5.</summary>
    public const double Lambda = 3.0 / 144_000.0;

    /// <summary>The recursive base 3 (growth 3^d).</summary>
    public const int RecursiveBase = 3;

    /// <summary>ln 3 as the nearest double.</summary>
    public const double Ln3 = 1.0986122886681098;

    /// <summary>The golden ratio (1 + √5)/2 as the nearest double.</summary>
    public const double GoldenRatio = 1.6180339887498949;

    /// <summary>√5 as the nearest double.</summary>
    public const double Sqrt5 = 2.2360679774997898;

    /// <summary>"Near 144000" means |p − 144000| ≤ this.</summary>
    public const long NearRadius = 100;

    private static readonly int[] s_dimensionalFrequencies =
        [3, 7, 31, 12, 19, 5, 11, 13, 17, 23, 29, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89];

    private static readonly int[] s_cymaticFrequencies = [174, 285, 396, 417, 432, 528, 639, 741, 852, 963];

    private static readonly PlimptonTriple[] s_plimpton =
    [
        new(119, 120, 169), new(3367, 3456, 4825), new(4601, 4800, 6649), new(12709, 13500, 18541),
        new(65, 72, 97), new(319, 360, 481), new(2291, 2700, 3541), new(799, 960, 1249),
        new(481, 600, 769), new(4961, 6480, 8161), new(45, 60, 75), new(1679, 2400, 2929),
        new(161, 240, 289), new(1771, 2700, 3229), new(56, 90, 106),
    ];

    /// <summary>The 24 dimensional frequencies φ_0 … φ_23 (3, 7, 31, 12, 19, 5, 11, …, 89).</summary>
    public static ReadOnlySpan<int> DimensionalFrequencies => s_dimensionalFrequencies;

    /// <summary>The design's cymatic frequencies in Hz (174 … 963).</summary>
    public static ReadOnlySpan<int> CymaticFrequencies => s_cymaticFrequencies;

    /// <summary>The 15 Plimpton 322 triples in the design's order.</summary>
    public static ReadOnlySpan<PlimptonTriple> PlimptonTriples => s_plimpton;

    /// <summary>φ_i, wrapping at 24: φ_{i mod 24}.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="i"/> is negative.</exception>
    public static int DimensionalFrequency(int i)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        return s_dimensionalFrequencies[i % s_dimensionalFrequencies.Length];
    }

    /// <summary>The symmetry group of an integer: n mod 12 in 0–11 (also for negative n).</summary>
    public static int SymmetryGroupOf(long n)
    {
        long g = n % SymmetryGroupCount;
        return (int)(g < 0 ? g + SymmetryGroupCount : g);
    }
}
