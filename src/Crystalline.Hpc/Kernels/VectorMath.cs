using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Whole-vector helpers for the trainer: the squared global norm (in double), scaling (clipping, the
/// (1 − Λ) factor) and the gradient reduction's adds.
/// </summary>
internal static class VectorMath
{
    /// <summary>Σ x[i]², accumulated in double.</summary>
    /// <remarks>
    /// Each square of a float is exact in double (24 + 24 bits ≤ 53), so the only rounding is the
    /// additions: the result is within about n·2⁻⁵³ relative of the exact sum, whatever the width
    /// (widths differ from each other only in the order of those additions). Empty input gives 0;
    /// a NaN gives NaN; ±∞ gives +∞.
    /// </remarks>
    public static double SumOfSquares(ReadOnlySpan<float> x, VectorWidth width = VectorWidth.Auto)
    {
        // Cost: the float→double conversions bound it (about 1.5× TensorPrimitives' float SumOfSquares in L1/L2);
        // in exchange every square is exact and the sum is good to ~n·2⁻⁵³.
        ref float r = ref MemoryMarshal.GetReference(x);
        nuint n = (nuint)x.Length;
        switch (KernelDispatch.Resolve(width))
        {
            case VectorWidth.V512: return SumOfSquares512(ref r, n);
            case VectorWidth.V256: return SumOfSquares256(ref r, n);
            case VectorWidth.V128: return SumOfSquares128(ref r, n);
            default:
                double sum = 0;
                for (nuint i = 0; i < n; i++)
                {
                    double v = Unsafe.Add(ref r, i);
                    sum += v * v;
                }
                return sum;
        }
    }

    /// <summary>values[i] *= factor, in place.</summary>
    public static void Scale(Span<float> values, float factor, VectorWidth width = VectorWidth.Auto) =>
        ElementwiseDriver.BinaryScalar<MultiplyOperator>(values, factor, values, width);

    /// <summary>destination[i] = source[i] · factor for i &lt; source.Length.</summary>
    /// <exception cref="ArgumentException">destination is shorter than source, or overlaps it at an offset.</exception>
    public static void Scale(Span<float> destination, ReadOnlySpan<float> source, float factor, VectorWidth width = VectorWidth.Auto) =>
        ElementwiseDriver.BinaryScalar<MultiplyOperator>(source, factor, destination, width);

    /// <summary>destination[i] = a[i] + b[i] for i &lt; a.Length.</summary>
    /// <exception cref="ArgumentException">a and b differ in length, destination is shorter, or overlaps an input at an offset.</exception>
    public static void Add(Span<float> destination, ReadOnlySpan<float> a, ReadOnlySpan<float> b, VectorWidth width = VectorWidth.Auto) =>
        ElementwiseDriver.Binary<AddOperator>(a, b, destination, width);

    /// <summary>destination[i] += source[i] for i &lt; source.Length (the gradient reduction's step).</summary>
    /// <exception cref="ArgumentException">destination is shorter than source, or overlaps it at an offset.</exception>
    public static void AddTo(Span<float> destination, ReadOnlySpan<float> source, VectorWidth width = VectorWidth.Auto)
    {
        ElementwiseDriver.CheckDestination(source.Length, destination, nameof(destination));
        Span<float> d = destination[..source.Length];
        ElementwiseDriver.Binary<AddOperator>(d, source, d, width);
    }

    // x² is exact in double (24-bit significands), so a fused multiply-add rounds exactly as x² + acc would.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Fma(Vector512<double> x, Vector512<double> acc) => Vector512.FusedMultiplyAdd(x, x, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Fma(Vector256<double> x, Vector256<double> acc) => Vector256.FusedMultiplyAdd(x, x, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> Fma(Vector128<double> x, Vector128<double> acc) => Vector128.FusedMultiplyAdd(x, x, acc);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double SumOfSquares512(ref float x, nuint n)
    {
        nuint w = (nuint)Vector512<float>.Count, i = 0;
        Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; i + 2 * w <= n; i += 2 * w)
        {
            (Vector512<double> l0, Vector512<double> h0) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
            (Vector512<double> l1, Vector512<double> h1) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i + w));
            a0 = Fma(l0, a0); a1 = Fma(h0, a1); a2 = Fma(l1, a2); a3 = Fma(h1, a3);
        }
        for (; i + w <= n; i += w)
        {
            (Vector512<double> l0, Vector512<double> h0) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
            a0 = Fma(l0, a0); a1 = Fma(h0, a1);
        }
        if (i < n)
        {
            Vector512<float> t = PartialVector.Load512(ref Unsafe.Add(ref x, i), n - i, 0f);
            (Vector512<double> l0, Vector512<double> h0) = Vector512.Widen(t);
            a2 = Fma(l0, a2); a3 = Fma(h0, a3);
        }
        return Vector512.Sum((a0 + a1) + (a2 + a3));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double SumOfSquares256(ref float x, nuint n)
    {
        nuint w = (nuint)Vector256<float>.Count, i = 0;
        Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; i + 2 * w <= n; i += 2 * w)
        {
            (Vector256<double> l0, Vector256<double> h0) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
            (Vector256<double> l1, Vector256<double> h1) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i + w));
            a0 = Fma(l0, a0); a1 = Fma(h0, a1); a2 = Fma(l1, a2); a3 = Fma(h1, a3);
        }
        for (; i + w <= n; i += w)
        {
            (Vector256<double> l0, Vector256<double> h0) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
            a0 = Fma(l0, a0); a1 = Fma(h0, a1);
        }
        if (i < n)
        {
            Vector256<float> t = PartialVector.Load256(ref Unsafe.Add(ref x, i), n - i, 0f);
            (Vector256<double> l0, Vector256<double> h0) = Vector256.Widen(t);
            a2 = Fma(l0, a2); a3 = Fma(h0, a3);
        }
        return Vector256.Sum((a0 + a1) + (a2 + a3));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double SumOfSquares128(ref float x, nuint n)
    {
        nuint w = (nuint)Vector128<float>.Count, i = 0;
        Vector128<double> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; i + 2 * w <= n; i += 2 * w)
        {
            (Vector128<double> l0, Vector128<double> h0) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
            (Vector128<double> l1, Vector128<double> h1) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i + w));
            a0 = Fma(l0, a0); a1 = Fma(h0, a1); a2 = Fma(l1, a2); a3 = Fma(h1, a3);
        }
        for (; i + w <= n; i += w)
        {
            (Vector128<double> l0, Vector128<double> h0) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
            a0 = Fma(l0, a0); a1 = Fma(h0, a1);
        }
        if (i < n)
        {
            Vector128<float> t = PartialVector.Load128(ref Unsafe.Add(ref x, i), n - i, 0f);
            (Vector128<double> l0, Vector128<double> h0) = Vector128.Widen(t);
            a2 = Fma(l0, a2); a3 = Fma(h0, a3);
        }
        return Vector128.Sum((a0 + a1) + (a2 + a3));
    }
}
