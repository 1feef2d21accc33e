namespace Crystalline.Hpc.Lattice;

/// <summary>The five terms of θ and their reduced sum.</summary>
/// <param name="Spiral">k·π(1+√5) reduced to [0, 2π).</param>
/// <param name="Index">(n − 1)·2π/(12·ln 3) reduced to [0, 2π); 0 for n ≤ 1.</param>
/// <param name="Phonetic">log₃ ν(λ) with ν = 343/λ.</param>
/// <param name="Omega">ω(p), the design's "Einstein correction".</param>
/// <param name="Psi">ψ(p), the design's "Plimpton correction", in (−π, π].</param>
/// <param name="Theta">The sum of the five terms reduced to [0, 2π).</param>
public readonly record struct ThetaTerms(double Spiral, double Index, double Phonetic, double Omega, double Psi, double Theta);

/// <summary>
/// The angular position θ(p, k, n, λ) = k·π(1+√5) + (n − 1)·2π/(12·ln 3) + log₃ ν(λ) + ω(p) + ψ(p),
/// reduced to [0, 2π) (docs/lattice-math.md).
/// </summary>
/// <remarks>
/// The spiral and index terms grow without bound in k and n; a double product would lose the
/// angle entirely for large k (k·π(1+√5) near 10^9 has an ulp of 10^-7). Since π(1+√5) = 2π·φ and
/// 2π/(12·ln 3) = 2π·c with c = 1/(12·ln 3), each term is taken as 2π·frac(k·φ) and 2π·frac((n−1)·c),
/// with φ and c held as 128-bit binary fractions (from <see cref="BigConstants"/>) and the fractional
/// part taken exactly by wrapping 128-bit integer arithmetic. θ is therefore accurate to about one
/// double ulp of 2π for every k up to 2^63.
/// </remarks>
public static class AngularPosition
{
    /// <summary>λ for text whose first character is not in the phonetic table (ν = 1000, log₃ ν ≈ 6.2877).</summary>
    public const double DefaultWavelength = 0.343;

    /// <summary>The speed of sound in ν(λ) = 343/λ.</summary>
    public const double SpeedOfSound = 343.0;

    private static readonly UInt128 s_phiFraction = BigConstants.GoldenRatio(192).FractionAsUInt128();
    private static readonly UInt128 s_indexFraction =
        (BigFixed.FromInteger(1, 192) / (BigFixed.FromInteger(12, 192) * BigConstants.Ln3(192))).FractionAsUInt128();

    /// <summary>θ and each of its terms.</summary>
    /// <param name="p">The prime (any integer ≥ 0 is accepted; ω and ψ are defined for all of them).</param>
    /// <param name="k">The prime's index (p is the k-th prime, p₁ = 2) or, for a token, the token id; ≥ 0.</param>
    /// <param name="n">The dimension; for n ≤ 0 the index term is 0 (n = 1 gives 0 as well).</param>
    /// <param name="wavelength">λ &gt; 0 (see <see cref="Wavelength"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">p or k is negative, or λ is not a finite positive number.</exception>
    public static ThetaTerms Compute(long p, long k, int n, double wavelength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(p);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        double spiral = SpiralTerm(k);
        double index = IndexTerm(n);
        double phonetic = PhoneticTerm(wavelength);
        double omega = Omega(p);
        double psi = Psi(p);
        double theta = Reduce(spiral + index + phonetic + omega + psi);
        return new ThetaTerms(spiral, index, phonetic, omega, psi, theta);
    }

    /// <summary>θ(p, k, n, λ) in [0, 2π). See <see cref="Compute(long, long, int, double)"/>.</summary>
    public static double Theta(long p, long k, int n, double wavelength) => Compute(p, k, n, wavelength).Theta;

    /// <summary>θ with λ taken from <paramref name="token"/>'s text (see <see cref="Wavelength"/>).</summary>
    public static double Theta(long p, long k, int n, string token) => Compute(p, k, n, Wavelength(token)).Theta;

    /// <summary>k·π(1+√5) reduced to [0, 2π), computed as 2π·frac(k·φ).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative.</exception>
    public static double SpiralTerm(long k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        // frac(k·φ) = frac(k·frac(φ)) since k·⌊φ⌋ is an integer; the product wraps modulo 2^128.
        return FractionToAngle((UInt128)(ulong)k * s_phiFraction);
    }

    /// <summary>(n − 1)·2π/(12·ln 3) reduced to [0, 2π); 0 for n ≤ 0 (and for n = 1).</summary>
    public static double IndexTerm(int n)
    {
        if (n <= 1) return 0.0;
        return FractionToAngle((UInt128)(ulong)(n - 1) * s_indexFraction);
    }

    /// <summary>log₃ ν(λ) with ν(λ) = 343/λ.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="wavelength"/> is not a finite positive number.</exception>
    public static double PhoneticTerm(double wavelength)
    {
        if (!(wavelength > 0) || !double.IsFinite(wavelength))
            throw new ArgumentOutOfRangeException(nameof(wavelength), wavelength, "the wavelength λ must be a finite positive number");
        return Math.Log(SpeedOfSound / wavelength) / LatticeConstants.Ln3;
    }

    /// <summary>
    /// λ from the first character of <paramref name="token"/> (case-insensitive): a 1.372, e 0.980,
    /// i 0.686, o 1.143, u 1.225, s/z 0.086, f/v 0.098, t/d 0.114, k/g 0.137, p/b 0.171, m/n 0.343,
    /// l/r 0.490, w/y 0.686; anything else (other letters, digits, spaces, punctuation, the empty
    /// string) 0.343. The first character is taken as it is: a GPT-2 token that starts with a space
    /// reads as "anything else".
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is null.</exception>
    public static double Wavelength(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length == 0) return DefaultWavelength;
        return char.ToLowerInvariant(token[0]) switch
        {
            'a' => 1.372,
            'e' => 0.980,
            'i' => 0.686,
            'o' => 1.143,
            'u' => 1.225,
            's' or 'z' => 0.086,
            'f' or 'v' => 0.098,
            't' or 'd' => 0.114,
            'k' or 'g' => 0.137,
            'p' or 'b' => 0.171,
            'm' or 'n' => 0.343,
            'l' or 'r' => 0.490,
            'w' or 'y' => 0.686,
            _ => DefaultWavelength,
        };
    }

    /// <summary>ω(p) = Λ / (1 + |p − 144000| / 144000), doubled when p is 143999 or 144001.</summary>
    public static double Omega(long p)
    {
        // |p − 144000| in double: exact for |p| < 2^53, and ω is a smooth tiny number beyond that.
        double distance = Math.Abs((double)p - LatticeConstants.VectorCulmination);
        double omega = LatticeConstants.Lambda / (1.0 + distance / LatticeConstants.VectorCulmination);
        return p is LatticeConstants.TwinPrimeLower or LatticeConstants.TwinPrimeUpper ? 2.0 * omega : omega;
    }

    /// <summary>
    /// ψ(p): the Plimpton triple with an a, b or c nearest to p (the first in the table on a tie);
    /// ψ = 2π·(p mod c)/c, minus 2π when that exceeds π; 0 when a² + b² ≠ c².
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is negative.</exception>
    public static double Psi(long p)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(p);
        PlimptonTriple t = NearestTriple(p);
        if (!t.IsPythagorean) return 0.0;
        double psi = Math.Tau * (p % t.C) / t.C;
        return psi > Math.PI ? psi - Math.Tau : psi;
    }

    /// <summary>The Plimpton triple whose a, b or c is nearest to <paramref name="p"/> (first in table order on a tie).</summary>
    public static PlimptonTriple NearestTriple(long p)
    {
        ReadOnlySpan<PlimptonTriple> triples = LatticeConstants.PlimptonTriples;
        PlimptonTriple best = triples[0];
        ulong bestDistance = ulong.MaxValue;
        foreach (PlimptonTriple t in triples)
        {
            ulong d = Math.Min(Distance(p, t.A), Math.Min(Distance(p, t.B), Distance(p, t.C)));
            if (d < bestDistance) { bestDistance = d; best = t; }
        }
        return best;
    }

    /// <summary>x reduced to [0, 2π) (x − 2π·⌊x/2π⌋, with the rounding edge at 2π folded to 0).</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is NaN or infinite.</exception>
    public static double Reduce(double x)
    {
        if (!double.IsFinite(x)) throw new ArgumentException($"cannot reduce {x} to [0, 2π)", nameof(x));
        double r = x - Math.Tau * Math.Floor(x / Math.Tau);
        if (r < 0) r += Math.Tau;
        if (r >= Math.Tau) r -= Math.Tau;
        return r < 0 ? 0.0 : r;
    }

    private static ulong Distance(long p, long v) => p >= v ? (ulong)(p - v) : (ulong)(v - p);

    // A 128-bit binary fraction f/2^128 ∈ [0, 1) times 2π. The top 64 bits carry far more than a double's 53.
    private static double FractionToAngle(UInt128 fraction)
    {
        double f = (double)(ulong)(fraction >> 64) * (1.0 / 18446744073709551616.0);
        double angle = f * Math.Tau;
        return angle >= Math.Tau ? 0.0 : angle;
    }
}
