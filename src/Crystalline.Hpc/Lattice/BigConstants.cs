using System.Collections.Concurrent;
using System.Numerics;

namespace Crystalline.Hpc.Lattice;

/// <summary>
/// The lattice constants as <see cref="BigFixed"/> numbers at any scale: rationals are exact
/// quotients rounded once to the scale; π, ln 3, √5 and the golden ratio come from convergent
/// series or Newton's iteration carried out at the scale plus 64 guard bits and then rounded, so the
/// error is within one unit of the last place (never a widened double).
/// </summary>
/// <remarks>Results are cached per scale; every method is thread-safe.</remarks>
public static class BigConstants
{
    private const int GuardBits = 64;
    private static readonly ConcurrentDictionary<(string Name, int Bits), BigFixed> s_cache = new();

    /// <summary>π = 16·atan(1/5) − 4·atan(1/239) (Machin).</summary>
    public static BigFixed Pi(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        Cached("pi", fractionalBits, w => 16 * ArctanOfInverse(5, w) - 4 * ArctanOfInverse(239, w));

    /// <summary>ln 3 = 2·atanh(1/2) = 2·Σ 1/((2k+1)·2^(2k+1)).</summary>
    public static BigFixed Ln3(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        Cached("ln3", fractionalBits, w => 2 * ArctanhOfInverse(2, w));

    /// <summary>√5 by integer Newton iteration.</summary>
    public static BigFixed Sqrt5(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        Cached("sqrt5", fractionalBits, w => BigFixed.IntegerSqrt(new BigInteger(5) << (2 * w)));

    /// <summary>The golden ratio (1 + √5)/2, √5 by integer Newton iteration.</summary>
    public static BigFixed GoldenRatio(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        Cached("phi", fractionalBits, w => ((BigInteger.One << w) + BigFixed.IntegerSqrt(new BigInteger(5) << (2 * w))) >> 1);

    /// <summary>2π.</summary>
    public static BigFixed Tau(int fractionalBits = BigFixed.DefaultFractionalBits) => Pi(fractionalBits) << 1;

    /// <summary>Λ = 3/144000 = 1/48000, the exact rational rounded once to the scale.</summary>
    public static BigFixed Lambda(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        BigFixed.FromRational(3, LatticeConstants.VectorCulmination, fractionalBits);

    /// <summary>144000/9 = 16000 (exact).</summary>
    public static BigFixed VectorCulminationOverNine(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        BigFixed.FromRational(LatticeConstants.VectorCulmination, 9, fractionalBits);

    /// <summary>The index-term step 2π/(12·ln 3) of the angular position θ.</summary>
    public static BigFixed IndexStep(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        Cached("indexstep", fractionalBits, w =>
        {
            var tau = Tau(w);
            var ln3 = Ln3(w);
            return (tau / (BigFixed.FromInteger(12, w) * ln3)).Mantissa;
        });

    /// <summary>The golden-angle multiple in the spiral term: π(1 + √5) = 2πφ.</summary>
    public static BigFixed SpiralStep(int fractionalBits = BigFixed.DefaultFractionalBits) =>
        Cached("spiralstep", fractionalBits, w => (Pi(w) * (BigFixed.FromInteger(1, w) + Sqrt5(w))).Mantissa);

    // compute(w) returns the mantissa at scale w = fractionalBits + GuardBits; it is rounded once to the scale.
    private static BigFixed Cached(string name, int fractionalBits, Func<int, BigInteger> compute)
    {
        if (fractionalBits < BigFixed.MinFractionalBits || fractionalBits > BigFixed.MaxFractionalBits)
            throw new ArgumentOutOfRangeException(nameof(fractionalBits), fractionalBits, $"BigFixed needs between {BigFixed.MinFractionalBits} and {BigFixed.MaxFractionalBits} fractional bits");
        return s_cache.GetOrAdd((name, fractionalBits), key =>
        {
            int w = key.Bits + GuardBits;
            return new BigFixed(BigFixed.ShiftRound(compute(w), -GuardBits), key.Bits);
        });
    }

    // atan(1/x)·2^w = Σ (−1)^k 2^w / ((2k+1) x^(2k+1)); each truncation costs under one unit at scale w.
    private static BigInteger ArctanOfInverse(int x, int w)
    {
        BigInteger power = (BigInteger.One << w) / x;
        BigInteger x2 = (BigInteger)x * x;
        BigInteger sum = BigInteger.Zero;
        for (int k = 0; !power.IsZero; k++)
        {
            BigInteger term = power / (2 * k + 1);
            sum += (k & 1) == 0 ? term : -term;
            power /= x2;
        }
        return sum;
    }

    // atanh(1/x)·2^w = Σ 2^w / ((2k+1) x^(2k+1)).
    private static BigInteger ArctanhOfInverse(int x, int w)
    {
        BigInteger power = (BigInteger.One << w) / x;
        BigInteger x2 = (BigInteger)x * x;
        BigInteger sum = BigInteger.Zero;
        for (int k = 0; !power.IsZero; k++)
        {
            sum += power / (2 * k + 1);
            power /= x2;
        }
        return sum;
    }
}
