using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// The row-level building blocks of attention, softmax and layernorm: dot product, max, the
/// fused exp-and-sum of a softmax, and double-accumulated sums. Callers validate shapes and pass an
/// already resolved width; the scalar branch of each is the reference. Remainders are handled with a
/// padded register (0 for sums, −∞ for max and exp) so every element goes through the same arithmetic.
/// </summary>
internal static class RowOps
{
    private const nuint SumBlock = 1024;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load512(ref float src, nuint count, float pad) => PartialVector.Load512(ref src, count, pad);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load256(ref float src, nuint count, float pad) => PartialVector.Load256(ref src, count, pad);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Load128(ref float src, nuint count, float pad) => PartialVector.Load128(ref src, count, pad);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TVec>(TVec v, ref float dst, nuint count) where TVec : unmanaged => PartialVector.Store(v, ref dst, count);

    /// <summary>Σ a[i]·b[i] over a.Length (b at least as long).</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, VectorWidth width)
    {
        ref float x = ref MemoryMarshal.GetReference(a);
        ref float y = ref MemoryMarshal.GetReference(b);
        nuint n = (nuint)a.Length, i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                nuint w = (nuint)Vector512<float>.Count;
                Vector512<float> s0 = default, s1 = default;
                for (; i + 2 * w <= n; i += 2 * w)
                {
                    s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), s0);
                    s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, i + w), Vector512.LoadUnsafe(ref y, i + w), s1);
                }
                if (i + w <= n) { s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), s0); i += w; }
                if (i < n) s1 = Vector512.FusedMultiplyAdd(Load512(ref Unsafe.Add(ref x, i), n - i, 0f), Load512(ref Unsafe.Add(ref y, i), n - i, 0f), s1);
                return Simd512.Sum(s0 + s1);
            }
            case VectorWidth.V256:
            {
                nuint w = (nuint)Vector256<float>.Count;
                Vector256<float> s0 = default, s1 = default;
                for (; i + 2 * w <= n; i += 2 * w)
                {
                    s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), s0);
                    s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, i + w), Vector256.LoadUnsafe(ref y, i + w), s1);
                }
                if (i + w <= n) { s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), s0); i += w; }
                if (i < n) s1 = Vector256.FusedMultiplyAdd(Load256(ref Unsafe.Add(ref x, i), n - i, 0f), Load256(ref Unsafe.Add(ref y, i), n - i, 0f), s1);
                return Simd256.Sum(s0 + s1);
            }
            case VectorWidth.V128:
            {
                nuint w = (nuint)Vector128<float>.Count;
                Vector128<float> s0 = default, s1 = default;
                for (; i + 2 * w <= n; i += 2 * w)
                {
                    s0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), s0);
                    s1 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref x, i + w), Vector128.LoadUnsafe(ref y, i + w), s1);
                }
                if (i + w <= n) { s0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), s0); i += w; }
                if (i < n) s1 = Vector128.FusedMultiplyAdd(Load128(ref Unsafe.Add(ref x, i), n - i, 0f), Load128(ref Unsafe.Add(ref y, i), n - i, 0f), s1);
                return Simd128.Sum(s0 + s1);
            }
            default:
            {
                float s = 0f;
                for (; i < n; i++) s += Unsafe.Add(ref x, i) * Unsafe.Add(ref y, i);
                return s;
            }
        }
    }

    /// <summary>max x[i] (−∞ for an empty row). A NaN makes the result NaN on every path.</summary>
    public static float Max(ReadOnlySpan<float> src, VectorWidth width)
    {
        ref float x = ref MemoryMarshal.GetReference(src);
        nuint n = (nuint)src.Length, i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                nuint w = (nuint)Vector512<float>.Count;
                Vector512<float> m0 = Vector512.Create(float.NegativeInfinity), m1 = m0;
                for (; i + 2 * w <= n; i += 2 * w)
                {
                    m0 = Vector512.Max(m0, Vector512.LoadUnsafe(ref x, i));
                    m1 = Vector512.Max(m1, Vector512.LoadUnsafe(ref x, i + w));
                }
                if (i + w <= n) { m0 = Vector512.Max(m0, Vector512.LoadUnsafe(ref x, i)); i += w; }
                if (i < n) m1 = Vector512.Max(m1, Load512(ref Unsafe.Add(ref x, i), n - i, float.NegativeInfinity));
                return HorizontalMax(Vector512.Max(m0, m1));
            }
            case VectorWidth.V256:
            {
                nuint w = (nuint)Vector256<float>.Count;
                Vector256<float> m0 = Vector256.Create(float.NegativeInfinity), m1 = m0;
                for (; i + 2 * w <= n; i += 2 * w)
                {
                    m0 = Vector256.Max(m0, Vector256.LoadUnsafe(ref x, i));
                    m1 = Vector256.Max(m1, Vector256.LoadUnsafe(ref x, i + w));
                }
                if (i + w <= n) { m0 = Vector256.Max(m0, Vector256.LoadUnsafe(ref x, i)); i += w; }
                if (i < n) m1 = Vector256.Max(m1, Load256(ref Unsafe.Add(ref x, i), n - i, float.NegativeInfinity));
                return HorizontalMax(Vector256.Max(m0, m1));
            }
            case VectorWidth.V128:
            {
                nuint w = (nuint)Vector128<float>.Count;
                Vector128<float> m0 = Vector128.Create(float.NegativeInfinity), m1 = m0;
                for (; i + 2 * w <= n; i += 2 * w)
                {
                    m0 = Vector128.Max(m0, Vector128.LoadUnsafe(ref x, i));
                    m1 = Vector128.Max(m1, Vector128.LoadUnsafe(ref x, i + w));
                }
                if (i + w <= n) { m0 = Vector128.Max(m0, Vector128.LoadUnsafe(ref x, i)); i += w; }
                if (i < n) m1 = Vector128.Max(m1, Load128(ref Unsafe.Add(ref x, i), n - i, float.NegativeInfinity));
                return HorizontalMax(Vector128.Max(m0, m1));
            }
            default:
            {
                float m = float.NegativeInfinity;
                for (; i < n; i++) m = MathF.Max(m, Unsafe.Add(ref x, i));
                return m;
            }
        }
    }

    private static float HorizontalMax(Vector512<float> v) => HorizontalMax(Vector256.Max(v.GetLower(), v.GetUpper()));

    private static float HorizontalMax(Vector256<float> v) => HorizontalMax(Vector128.Max(v.GetLower(), v.GetUpper()));

    private static float HorizontalMax(Vector128<float> v) =>
        MathF.Max(MathF.Max(v.GetElement(0), v.GetElement(1)), MathF.Max(v.GetElement(2), v.GetElement(3)));

    /// <summary>dst[i] = e^(src[i] − shift) over src.Length; returns Σ dst[i] (scalar path: exp by MathF.Exp, sum in double).</summary>
    public static float ExpSubtractSum(Span<float> dstSpan, ReadOnlySpan<float> src, float shift, VectorWidth width)
    {
        ref float x = ref MemoryMarshal.GetReference(src);
        ref float d = ref MemoryMarshal.GetReference(dstSpan);
        nuint n = (nuint)src.Length, i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                nuint w = (nuint)Vector512<float>.Count;
                Vector512<float> s = Vector512.Create(shift), a0 = default, a1 = default;
                double total = 0;
                while (i + 2 * w <= n)
                {
                    // Float lanes for a block of at most SumBlock elements, then into double, so the sum over a
                    // 50k vocabulary keeps ~1e−7 relative accuracy instead of drifting with the length.
                    nuint blockEnd = Math.Min(n, i + SumBlock);
                    for (; i + 2 * w <= blockEnd; i += 2 * w)
                    {
                        Vector512<float> e0 = VectorExp.Exp(Vector512.LoadUnsafe(ref x, i) - s);
                        Vector512<float> e1 = VectorExp.Exp(Vector512.LoadUnsafe(ref x, i + w) - s);
                        e0.StoreUnsafe(ref d, i);
                        e1.StoreUnsafe(ref d, i + w);
                        a0 += e0; a1 += e1;
                    }
                    total += Simd512.Sum(a0 + a1);
                    a0 = default; a1 = default;
                }
                if (i + w <= n)
                {
                    Vector512<float> e0 = VectorExp.Exp(Vector512.LoadUnsafe(ref x, i) - s);
                    e0.StoreUnsafe(ref d, i);
                    a0 += e0; i += w;
                }
                if (i < n)
                {
                    Vector512<float> e1 = VectorExp.Exp(Load512(ref Unsafe.Add(ref x, i), n - i, float.NegativeInfinity) - s);
                    Store(e1, ref Unsafe.Add(ref d, i), n - i);
                    a1 += e1;
                }
                return (float)(total + Simd512.Sum(a0 + a1));
            }
            case VectorWidth.V256:
            {
                nuint w = (nuint)Vector256<float>.Count;
                Vector256<float> s = Vector256.Create(shift), a0 = default, a1 = default;
                double total = 0;
                while (i + 2 * w <= n)
                {
                    // Float lanes for a block of at most SumBlock elements, then into double, so the sum over a
                    // 50k vocabulary keeps ~1e−7 relative accuracy instead of drifting with the length.
                    nuint blockEnd = Math.Min(n, i + SumBlock);
                    for (; i + 2 * w <= blockEnd; i += 2 * w)
                    {
                        Vector256<float> e0 = VectorExp.Exp(Vector256.LoadUnsafe(ref x, i) - s);
                        Vector256<float> e1 = VectorExp.Exp(Vector256.LoadUnsafe(ref x, i + w) - s);
                        e0.StoreUnsafe(ref d, i);
                        e1.StoreUnsafe(ref d, i + w);
                        a0 += e0; a1 += e1;
                    }
                    total += Simd256.Sum(a0 + a1);
                    a0 = default; a1 = default;
                }
                if (i + w <= n)
                {
                    Vector256<float> e0 = VectorExp.Exp(Vector256.LoadUnsafe(ref x, i) - s);
                    e0.StoreUnsafe(ref d, i);
                    a0 += e0; i += w;
                }
                if (i < n)
                {
                    Vector256<float> e1 = VectorExp.Exp(Load256(ref Unsafe.Add(ref x, i), n - i, float.NegativeInfinity) - s);
                    Store(e1, ref Unsafe.Add(ref d, i), n - i);
                    a1 += e1;
                }
                return (float)(total + Simd256.Sum(a0 + a1));
            }
            case VectorWidth.V128:
            {
                nuint w = (nuint)Vector128<float>.Count;
                Vector128<float> s = Vector128.Create(shift), a0 = default, a1 = default;
                double total = 0;
                while (i + 2 * w <= n)
                {
                    // Float lanes for a block of at most SumBlock elements, then into double, so the sum over a
                    // 50k vocabulary keeps ~1e−7 relative accuracy instead of drifting with the length.
                    nuint blockEnd = Math.Min(n, i + SumBlock);
                    for (; i + 2 * w <= blockEnd; i += 2 * w)
                    {
                        Vector128<float> e0 = VectorExp.Exp(Vector128.LoadUnsafe(ref x, i) - s);
                        Vector128<float> e1 = VectorExp.Exp(Vector128.LoadUnsafe(ref x, i + w) - s);
                        e0.StoreUnsafe(ref d, i);
                        e1.StoreUnsafe(ref d, i + w);
                        a0 += e0; a1 += e1;
                    }
                    total += Simd128.Sum(a0 + a1);
                    a0 = default; a1 = default;
                }
                if (i + w <= n)
                {
                    Vector128<float> e0 = VectorExp.Exp(Vector128.LoadUnsafe(ref x, i) - s);
                    e0.StoreUnsafe(ref d, i);
                    a0 += e0; i += w;
                }
                if (i < n)
                {
                    Vector128<float> e1 = VectorExp.Exp(Load128(ref Unsafe.Add(ref x, i), n - i, float.NegativeInfinity) - s);
                    Store(e1, ref Unsafe.Add(ref d, i), n - i);
                    a1 += e1;
                }
                return (float)(total + Simd128.Sum(a0 + a1));
            }
            default:
            {
                double sum = 0;
                for (; i < n; i++)
                {
                    float e = MathF.Exp(Unsafe.Add(ref x, i) - shift);
                    Unsafe.Add(ref d, i) = e;
                    sum += e;
                }
                return (float)sum;
            }
        }
    }

    /// <summary>x[i] *= factor.</summary>
    public static void Scale(Span<float> x, float factor, VectorWidth width) =>
        ElementwiseDriver.BinaryScalar<MultiplyOperator>(x, factor, x, width);

    /// <summary>Σ x[i] in double.</summary>
    public static double SumDouble(ReadOnlySpan<float> src, VectorWidth width)
    {
        ref float x = ref MemoryMarshal.GetReference(src);
        nuint n = (nuint)src.Length, i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                nuint w = (nuint)Vector512<float>.Count;
                Vector512<double> a0 = default, a1 = default;
                for (; i + w <= n; i += w)
                {
                    (Vector512<double> l, Vector512<double> h) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
                    a0 += l; a1 += h;
                }
                if (i < n)
                {
                    (Vector512<double> l, Vector512<double> h) = Vector512.Widen(Load512(ref Unsafe.Add(ref x, i), n - i, 0f));
                    a0 += l; a1 += h;
                }
                return Vector512.Sum(a0 + a1);
            }
            case VectorWidth.V256:
            {
                nuint w = (nuint)Vector256<float>.Count;
                Vector256<double> a0 = default, a1 = default;
                for (; i + w <= n; i += w)
                {
                    (Vector256<double> l, Vector256<double> h) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
                    a0 += l; a1 += h;
                }
                if (i < n)
                {
                    (Vector256<double> l, Vector256<double> h) = Vector256.Widen(Load256(ref Unsafe.Add(ref x, i), n - i, 0f));
                    a0 += l; a1 += h;
                }
                return Vector256.Sum(a0 + a1);
            }
            case VectorWidth.V128:
            {
                nuint w = (nuint)Vector128<float>.Count;
                Vector128<double> a0 = default, a1 = default;
                for (; i + w <= n; i += w)
                {
                    (Vector128<double> l, Vector128<double> h) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
                    a0 += l; a1 += h;
                }
                if (i < n)
                {
                    (Vector128<double> l, Vector128<double> h) = Vector128.Widen(Load128(ref Unsafe.Add(ref x, i), n - i, 0f));
                    a0 += l; a1 += h;
                }
                return Vector128.Sum(a0 + a1);
            }
            default:
            {
                double s = 0;
                for (; i < n; i++) s += Unsafe.Add(ref x, i);
                return s;
            }
        }
    }

    /// <summary>Σ (x[i] − mean)² in double, mean given in double.</summary>
    public static double SumSquaredDeviationDouble(ReadOnlySpan<float> src, double mean, VectorWidth width)
    {
        ref float x = ref MemoryMarshal.GetReference(src);
        nuint n = (nuint)src.Length, i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                nuint w = (nuint)Vector512<float>.Count;
                Vector512<double> m = Vector512.Create(mean), a0 = default, a1 = default;
                for (; i + w <= n; i += w)
                {
                    (Vector512<double> l, Vector512<double> h) = Vector512.Widen(Vector512.LoadUnsafe(ref x, i));
                    l -= m; h -= m;
                    a0 += l * l; a1 += h * h;
                }
                double s = Vector512.Sum(a0 + a1);
                for (; i < n; i++) { double v = Unsafe.Add(ref x, i) - mean; s += v * v; }
                return s;
            }
            case VectorWidth.V256:
            {
                nuint w = (nuint)Vector256<float>.Count;
                Vector256<double> m = Vector256.Create(mean), a0 = default, a1 = default;
                for (; i + w <= n; i += w)
                {
                    (Vector256<double> l, Vector256<double> h) = Vector256.Widen(Vector256.LoadUnsafe(ref x, i));
                    l -= m; h -= m;
                    a0 += l * l; a1 += h * h;
                }
                double s = Vector256.Sum(a0 + a1);
                for (; i < n; i++) { double v = Unsafe.Add(ref x, i) - mean; s += v * v; }
                return s;
            }
            case VectorWidth.V128:
            {
                nuint w = (nuint)Vector128<float>.Count;
                Vector128<double> m = Vector128.Create(mean), a0 = default, a1 = default;
                for (; i + w <= n; i += w)
                {
                    (Vector128<double> l, Vector128<double> h) = Vector128.Widen(Vector128.LoadUnsafe(ref x, i));
                    l -= m; h -= m;
                    a0 += l * l; a1 += h * h;
                }
                double s = Vector128.Sum(a0 + a1);
                for (; i < n; i++) { double v = Unsafe.Add(ref x, i) - mean; s += v * v; }
                return s;
            }
            default:
            {
                double s = 0;
                for (; i < n; i++) { double v = Unsafe.Add(ref x, i) - mean; s += v * v; }
                return s;
            }
        }
    }
}
