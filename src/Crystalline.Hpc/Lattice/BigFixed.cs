using System.Globalization;
using System.Numerics;
using System.Text;

namespace Crystalline.Hpc.Lattice;

/// <summary>
/// An arbitrary-precision signed binary fixed-point number: <c>value = Mantissa · 2^-FractionalBits</c>,
/// with a <see cref="BigInteger"/> mantissa and a scale of at least <see cref="MinFractionalBits"/>
/// fractional bits.
/// </summary>
/// <remarks>
/// <para>Rounding: every operation whose exact result does not fit the result's scale (multiply,
/// divide, square root, right shift, rescaling, conversion from double or decimal text) rounds to
/// nearest, ties to even. Add, subtract, negate, compare and left shift are exact.</para>
/// <para>Mixed scales: a binary operation on two numbers with different <see cref="FractionalBits"/>
/// rescales the coarser operand to the finer scale (exact, no information lost) and returns a result
/// at the finer scale. Equality and ordering compare exact values, so 1 at 128 bits equals 1 at 256
/// bits, and their hash codes agree.</para>
/// <para>Errors: division by zero throws <see cref="DivideByZeroException"/>; the square root of a
/// negative number throws <see cref="ArgumentOutOfRangeException"/>; NaN or an infinity given to
/// <see cref="FromDouble"/> throws <see cref="ArgumentException"/>; a scale below
/// <see cref="MinFractionalBits"/> or above <see cref="MaxFractionalBits"/> throws
/// <see cref="ArgumentOutOfRangeException"/>; a malformed decimal string throws
/// <see cref="FormatException"/>.</para>
/// </remarks>
public sealed class BigFixed : IEquatable<BigFixed>, IComparable<BigFixed>, IComparable
{
    /// <summary>The smallest allowed number of fractional bits.</summary>
    public const int MinFractionalBits = 128;

    /// <summary>The number of fractional bits used when none is given.</summary>
    public const int DefaultFractionalBits = 256;

    /// <summary>The largest allowed number of fractional bits (a guard against accidental huge allocations).</summary>
    public const int MaxFractionalBits = 1 << 22;

    // Decimal exponents beyond this in Parse would build astronomically large integers.
    private const int MaxDecimalExponent = 1_000_000;

    /// <summary>Creates the number <c>mantissa · 2^-fractionalBits</c> exactly.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The scale is outside [<see cref="MinFractionalBits"/>, <see cref="MaxFractionalBits"/>].</exception>
    public BigFixed(BigInteger mantissa, int fractionalBits = DefaultFractionalBits)
    {
        CheckScale(fractionalBits);
        Mantissa = mantissa;
        FractionalBits = fractionalBits;
    }

    /// <summary>The integer m with value = m · 2^-<see cref="FractionalBits"/>.</summary>
    public BigInteger Mantissa { get; }

    /// <summary>The binary scale: the number of bits after the binary point.</summary>
    public int FractionalBits { get; }

    /// <summary>−1, 0 or 1.</summary>
    public int Sign => Mantissa.Sign;

    /// <summary>True when the value is zero.</summary>
    public bool IsZero => Mantissa.IsZero;

    /// <summary>The exact integer <paramref name="value"/>.</summary>
    public static BigFixed FromInteger(BigInteger value, int fractionalBits = DefaultFractionalBits)
    {
        CheckScale(fractionalBits);
        return new BigFixed(value << fractionalBits, fractionalBits);
    }

    /// <summary>The rational <paramref name="numerator"/>/<paramref name="denominator"/>, rounded to nearest (ties to even) at the scale.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="denominator"/> is zero.</exception>
    public static BigFixed FromRational(BigInteger numerator, BigInteger denominator, int fractionalBits = DefaultFractionalBits)
    {
        CheckScale(fractionalBits);
        if (denominator.IsZero) throw new DivideByZeroException("BigFixed.FromRational: the denominator is zero");
        return new BigFixed(DivideRound(numerator << fractionalBits, denominator), fractionalBits);
    }

    /// <summary>The double <paramref name="value"/>, exactly when it fits the scale, else rounded to nearest (ties to even).</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is NaN or infinite.</exception>
    public static BigFixed FromDouble(double value, int fractionalBits = DefaultFractionalBits)
    {
        CheckScale(fractionalBits);
        if (!double.IsFinite(value)) throw new ArgumentException($"BigFixed.FromDouble: {value} is not a finite number", nameof(value));
        long bits = BitConverter.DoubleToInt64Bits(value);
        bool negative = bits < 0;
        int biased = (int)((bits >> 52) & 0x7FF);
        long fraction = bits & 0xF_FFFF_FFFF_FFFFL;
        // value = significand · 2^exponent with an integer significand.
        long significand = biased == 0 ? fraction : fraction | (1L << 52);
        int exponent = biased == 0 ? -1074 : biased - 1075;
        BigInteger m = ShiftRound(new BigInteger(significand), exponent + fractionalBits);
        return new BigFixed(negative ? -m : m, fractionalBits);
    }

    /// <summary>
    /// The nearest double (ties to even), including subnormal results, signed zero for negative
    /// values that round to zero, and ±∞ for values whose magnitude rounds beyond double.MaxValue.
    /// </summary>
    public double ToDouble()
    {
        if (Mantissa.IsZero) return 0.0;
        bool negative = Mantissa.Sign < 0;
        BigInteger m = BigInteger.Abs(Mantissa);
        long length = (long)m.GetBitLength();
        // The value lies in [2^e, 2^(e+1)); its double has 53 bits from 2^e down, but no unit below 2^-1074.
        long e = length - 1 - FractionalBits;
        long unitExponent = Math.Max(e - 52, -1074);
        if (unitExponent > 2000) return negative ? double.NegativeInfinity : double.PositiveInfinity;
        BigInteger q = ShiftRound(m, -(FractionalBits + unitExponent));
        if (q >= (BigInteger.One << 53)) { q >>= 1; unitExponent++; } // rounding carried into a new bit (q was 2^53)
        long result;
        if (q < (BigInteger.One << 52))
        {
            result = (long)q; // subnormal (or zero): the unit is 2^-1074 and the encoding is the significand itself
        }
        else
        {
            long biasedExponent = unitExponent + 1075;
            if (biasedExponent > 2046) return negative ? double.NegativeInfinity : double.PositiveInfinity;
            result = (biasedExponent << 52) | ((long)q & 0xF_FFFF_FFFF_FFFFL);
        }
        double d = BitConverter.Int64BitsToDouble(result);
        return negative ? -d : d;
    }

    /// <summary>This value at another scale, rounded to nearest (ties to even) when the scale shrinks.</summary>
    public BigFixed Rescale(int fractionalBits)
    {
        CheckScale(fractionalBits);
        if (fractionalBits == FractionalBits) return this;
        return new BigFixed(ShiftRound(Mantissa, fractionalBits - FractionalBits), fractionalBits);
    }

    /// <summary>Exact sum, at the finer of the two scales.</summary>
    public static BigFixed Add(BigFixed left, BigFixed right)
    {
        Align(left, right, out BigInteger a, out BigInteger b, out int f);
        return new BigFixed(a + b, f);
    }

    /// <summary>Exact difference, at the finer of the two scales.</summary>
    public static BigFixed Subtract(BigFixed left, BigFixed right)
    {
        Align(left, right, out BigInteger a, out BigInteger b, out int f);
        return new BigFixed(a - b, f);
    }

    /// <summary>Product rounded to nearest (ties to even) at the finer of the two scales.</summary>
    public static BigFixed Multiply(BigFixed left, BigFixed right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        int f = Math.Max(left.FractionalBits, right.FractionalBits);
        BigInteger product = left.Mantissa * right.Mantissa; // scale fl + fr
        return new BigFixed(ShiftRound(product, f - left.FractionalBits - right.FractionalBits), f);
    }

    /// <summary>Quotient rounded to nearest (ties to even) at the finer of the two scales.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="right"/> is zero.</exception>
    public static BigFixed Divide(BigFixed left, BigFixed right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        if (right.Mantissa.IsZero) throw new DivideByZeroException("BigFixed division by zero");
        int f = Math.Max(left.FractionalBits, right.FractionalBits);
        // (a·2^-fa)/(b·2^-fb)·2^f = a·2^(f-fa+fb)/b, and f-fa+fb ≥ 0.
        return new BigFixed(DivideRound(left.Mantissa << (f - left.FractionalBits + right.FractionalBits), right.Mantissa), f);
    }

    /// <summary>The exact negation.</summary>
    public static BigFixed Negate(BigFixed value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new BigFixed(-value.Mantissa, value.FractionalBits);
    }

    /// <summary>The exact absolute value.</summary>
    public static BigFixed Abs(BigFixed value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Mantissa.Sign >= 0 ? value : new BigFixed(-value.Mantissa, value.FractionalBits);
    }

    /// <summary>
    /// The square root rounded to nearest at the same scale, by integer Newton iteration on
    /// <c>Mantissa · 2^FractionalBits</c> (a tie cannot occur).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is negative.</exception>
    public static BigFixed Sqrt(BigFixed value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Mantissa.Sign < 0) throw new ArgumentOutOfRangeException(nameof(value), "BigFixed.Sqrt: the square root of a negative number is not real");
        // sqrt(m·2^-f)·2^f = sqrt(m·2^f).
        BigInteger n = value.Mantissa << value.FractionalBits;
        BigInteger r = IntegerSqrt(n);
        // Round up when sqrt(n) ≥ r + 1/2, i.e. 4n ≥ (2r+1)^2 (an odd number, so never equal).
        BigInteger twoRPlusOne = 2 * r + 1;
        if (4 * n > twoRPlusOne * twoRPlusOne) r += 1;
        return new BigFixed(r, value.FractionalBits);
    }

    /// <summary>The largest integer r with r² ≤ n (Newton's iteration from above).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative.</exception>
    public static BigInteger IntegerSqrt(BigInteger n)
    {
        if (n.Sign < 0) throw new ArgumentOutOfRangeException(nameof(n), "IntegerSqrt of a negative number");
        if (n < 2) return n;
        long bits = (long)n.GetBitLength();
        // Start at or above the root: 2^ceil(bits/2) ≥ sqrt(n). Newton then decreases monotonically to ⌊√n⌋.
        BigInteger x = BigInteger.One << (int)((bits + 1) / 2);
        while (true)
        {
            BigInteger y = (x + n / x) >> 1;
            if (y >= x) return x;
            x = y;
        }
    }

    /// <summary>Multiplies by 2^<paramref name="shift"/> (exact; a negative shift divides with rounding).</summary>
    public static BigFixed operator <<(BigFixed value, int shift)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new BigFixed(ShiftRound(value.Mantissa, shift), value.FractionalBits);
    }

    /// <summary>Divides by 2^<paramref name="shift"/>, rounding to nearest (ties to even) at the same scale.</summary>
    public static BigFixed operator >>(BigFixed value, int shift)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (shift == int.MinValue) throw new ArgumentOutOfRangeException(nameof(shift));
        return new BigFixed(ShiftRound(value.Mantissa, -shift), value.FractionalBits);
    }

    /// <summary>Named alternative to <c>&lt;&lt;</c>.</summary>
    public static BigFixed LeftShift(BigFixed value, int shift) => value << shift;

    /// <summary>Named alternative to <c>&gt;&gt;</c>.</summary>
    public static BigFixed RightShift(BigFixed value, int shift) => value >> shift;

    /// <inheritdoc cref="Add"/>
    public static BigFixed operator +(BigFixed left, BigFixed right) => Add(left, right);

    /// <inheritdoc cref="Subtract"/>
    public static BigFixed operator -(BigFixed left, BigFixed right) => Subtract(left, right);

    /// <inheritdoc cref="Multiply"/>
    public static BigFixed operator *(BigFixed left, BigFixed right) => Multiply(left, right);

    /// <inheritdoc cref="Divide"/>
    public static BigFixed operator /(BigFixed left, BigFixed right) => Divide(left, right);

    /// <inheritdoc cref="Negate"/>
    public static BigFixed operator -(BigFixed value) => Negate(value);

    /// <summary>Identity.</summary>
    public static BigFixed operator +(BigFixed value) => value;

    /// <summary>Exact comparison of the values (scales may differ).</summary>
    public static int Compare(BigFixed? left, BigFixed? right)
    {
        if (ReferenceEquals(left, right)) return 0;
        if (left is null) return -1;
        if (right is null) return 1;
        Align(left, right, out BigInteger a, out BigInteger b, out _);
        return a.CompareTo(b);
    }

    /// <inheritdoc/>
    public int CompareTo(BigFixed? other) => Compare(this, other);

    /// <inheritdoc/>
    public int CompareTo(object? obj) => obj switch
    {
        null => 1,
        BigFixed b => Compare(this, b),
        _ => throw new ArgumentException("Object is not a BigFixed", nameof(obj)),
    };

    /// <summary>True when both hold the same exact value (scales may differ).</summary>
    public bool Equals(BigFixed? other) => other is not null && Compare(this, other) == 0;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BigFixed b && Equals(b);

    /// <summary>A hash of the exact value: equal values at different scales hash alike.</summary>
    public override int GetHashCode()
    {
        if (Mantissa.IsZero) return 0;
        // value = odd · 2^(tz - f): the pair (odd, tz - f) is unique to the value.
        long tz = (long)BigInteger.TrailingZeroCount(BigInteger.Abs(Mantissa));
        return HashCode.Combine(Mantissa >> (int)tz, tz - FractionalBits);
    }

    /// <summary>Exact value equality.</summary>
    public static bool operator ==(BigFixed? left, BigFixed? right) => Compare(left, right) == 0;

    /// <summary>Exact value inequality.</summary>
    public static bool operator !=(BigFixed? left, BigFixed? right) => Compare(left, right) != 0;

    /// <summary>Exact ordering.</summary>
    public static bool operator <(BigFixed? left, BigFixed? right) => Compare(left, right) < 0;

    /// <summary>Exact ordering.</summary>
    public static bool operator >(BigFixed? left, BigFixed? right) => Compare(left, right) > 0;

    /// <summary>Exact ordering.</summary>
    public static bool operator <=(BigFixed? left, BigFixed? right) => Compare(left, right) <= 0;

    /// <summary>Exact ordering.</summary>
    public static bool operator >=(BigFixed? left, BigFixed? right) => Compare(left, right) >= 0;

    /// <summary>
    /// Decimal text with exactly <paramref name="digits"/> digits after the point, rounded to
    /// nearest (ties to even). No sign is printed when the rounded value is zero.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="digits"/> is negative or above 1,000,000.</exception>
    public string ToString(int digits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digits, MaxDecimalExponent);
        BigInteger scaled = ShiftRound(Mantissa * BigInteger.Pow(10, digits), -FractionalBits);
        var sb = new StringBuilder();
        if (scaled.Sign < 0) sb.Append('-');
        string s = BigInteger.Abs(scaled).ToString(CultureInfo.InvariantCulture);
        if (s.Length <= digits) s = new string('0', digits - s.Length + 1) + s;
        sb.Append(s, 0, s.Length - digits);
        if (digits > 0) sb.Append('.').Append(s, s.Length - digits, digits);
        return sb.ToString();
    }

    /// <summary>Decimal text with as many digits as the scale resolves (⌊FractionalBits · log10 2⌋).</summary>
    public override string ToString() => ToString((int)(FractionalBits * 0.30102999566398120));

    /// <summary>
    /// Parses decimal text: optional sign, digits with an optional point, optional exponent
    /// (<c>e</c>/<c>E</c>), e.g. <c>-3.14159</c>, <c>1e-5</c>, <c>.5</c>. Rounded to nearest (ties to even) at the scale.
    /// </summary>
    /// <exception cref="FormatException">The text is not such a number.</exception>
    public static BigFixed Parse(string text, int fractionalBits = DefaultFractionalBits)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out BigFixed? result, fractionalBits)) throw new FormatException($"BigFixed.Parse: '{text}' is not a decimal number");
        return result;
    }

    /// <summary>As <see cref="Parse"/>, returning false instead of throwing.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BigFixed? result, int fractionalBits = DefaultFractionalBits)
    {
        CheckScale(fractionalBits);
        result = null;
        if (text is null) return false;
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        int i = 0;
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) { negative = s[i] == '-'; i++; }
        BigInteger digits = BigInteger.Zero;
        int digitCount = 0, fractionDigits = 0;
        bool seenPoint = false;
        int chunk = 0, chunkLength = 0;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '.' && !seenPoint) { seenPoint = true; continue; }
            if (c < '0' || c > '9') break;
            chunk = chunk * 10 + (c - '0');
            chunkLength++;
            digitCount++;
            if (seenPoint) fractionDigits++;
            if (chunkLength == 9) { digits = digits * 1_000_000_000 + chunk; chunk = 0; chunkLength = 0; }
        }
        if (chunkLength > 0) digits = digits * BigInteger.Pow(10, chunkLength) + chunk;
        if (digitCount == 0) return false;
        long exponent = 0;
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            if (!long.TryParse(s[i..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent)) return false;
            i = s.Length;
        }
        if (i != s.Length) return false;
        exponent -= fractionDigits;
        if (Math.Abs(exponent) > MaxDecimalExponent) return false;
        if (negative) digits = -digits;
        result = exponent >= 0
            ? FromInteger(digits * BigInteger.Pow(10, (int)exponent), fractionalBits)
            : FromRational(digits, BigInteger.Pow(10, (int)-exponent), fractionalBits);
        return true;
    }

    /// <summary>
    /// ⌊value⌋ as an integer (toward −∞).
    /// </summary>
    public BigInteger Floor() => Mantissa >> FractionalBits;

    /// <summary>
    /// value − ⌊value⌋ ∈ [0, 1) as a 128-bit binary fraction (rounded to nearest, wrapping to 0 when it rounds to 1).
    /// </summary>
    internal UInt128 FractionAsUInt128()
    {
        BigInteger frac = Mantissa - (Floor() << FractionalBits);
        BigInteger q = ShiftRound(frac, 128 - FractionalBits) & ((BigInteger.One << 128) - 1);
        return (UInt128)q;
    }

    private static void CheckScale(int fractionalBits)
    {
        if (fractionalBits < MinFractionalBits || fractionalBits > MaxFractionalBits)
            throw new ArgumentOutOfRangeException(nameof(fractionalBits), fractionalBits, $"BigFixed needs between {MinFractionalBits} and {MaxFractionalBits} fractional bits");
    }

    private static void Align(BigFixed left, BigFixed right, out BigInteger a, out BigInteger b, out int f)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        f = Math.Max(left.FractionalBits, right.FractionalBits);
        a = left.Mantissa << (f - left.FractionalBits);
        b = right.Mantissa << (f - right.FractionalBits);
    }

    /// <summary>x · 2^shift: exact for shift ≥ 0, rounded to nearest (ties to even) for shift &lt; 0.</summary>
    internal static BigInteger ShiftRound(BigInteger x, long shift)
    {
        if (shift >= 0) return x << checked((int)shift);
        long n = -shift;
        if (n > x.GetBitLength() + 1) return BigInteger.Zero; // |x·2^shift| < 1/4: rounds to 0
        int k = (int)n;
        BigInteger q = x >> k;               // floor
        BigInteger r = x - (q << k);         // 0 ≤ r < 2^k
        BigInteger half = BigInteger.One << (k - 1);
        int c = r.CompareTo(half);
        if (c > 0 || (c == 0 && !q.IsEven)) q += 1;
        return q;
    }

    /// <summary>n / d rounded to nearest (ties to even).</summary>
    internal static BigInteger DivideRound(BigInteger n, BigInteger d)
    {
        if (d.Sign < 0) { n = -n; d = -d; }
        BigInteger q = BigInteger.DivRem(n, d, out BigInteger r);
        if (r.Sign < 0) { q -= 1; r += d; } // floor division: 0 ≤ r < d
        int c = (2 * r).CompareTo(d);
        if (c > 0 || (c == 0 && !q.IsEven)) q += 1;
        return q;
    }
}
