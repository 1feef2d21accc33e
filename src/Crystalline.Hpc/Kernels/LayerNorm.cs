using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Layer normalisation over the last dimension C of R rows:
/// out = (x − μ)·rstd·weight + bias, μ = (1/C)Σx, σ² = (1/C)Σ(x − μ)² (biased), rstd = 1/√(σ² + 1e−5).
/// </summary>
/// <remarks>
/// μ and σ² are accumulated in double, two passes (so no cancellation in σ²), then rounded to the
/// float mean/rstd that forward stores for backward. The normalise pass and the backward are float
/// with fused multiply-adds on the vector paths; vector and scalar agree to ~1e−6 relative of the
/// row's magnitude. A NaN anywhere in a row makes that row's outputs NaN.
/// </remarks>
internal static class LayerNorm
{
    internal const float Epsilon = 1e-5f;

    /// <summary>Normalises each row of <paramref name="input"/> (R×C); stores μ and rstd per row for backward.</summary>
    /// <exception cref="ArgumentException">R or C not positive; a span length differs from R·C, R or C.</exception>
    public static void Forward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int rowCount, int channels, VectorWidth width = VectorWidth.Auto)
    {
        KernelShape.Positive(rowCount, nameof(rowCount));
        KernelShape.Positive(channels, nameof(channels));
        int n = KernelShape.Product(rowCount, channels, "rowCount·channels");
        KernelShape.Length(output, n, nameof(output));
        KernelShape.Length(input, n, nameof(input));
        KernelShape.Length(mean, rowCount, nameof(mean));
        KernelShape.Length(rstd, rowCount, nameof(rstd));
        KernelShape.Length(weight, channels, nameof(weight));
        KernelShape.Length(bias, channels, nameof(bias));
        VectorWidth w = KernelDispatch.Resolve(width);

        for (int r = 0; r < rowCount; r++)
        {
            ReadOnlySpan<float> x = input.Slice(r * channels, channels);
            double mu = RowOps.SumDouble(x, w) / channels;
            double variance = RowOps.SumSquaredDeviationDouble(x, mu, w) / channels;
            float m = (float)mu;
            float s = (float)(1.0 / Math.Sqrt(variance + Epsilon));
            Normalise(output.Slice(r * channels, channels), x, weight, bias, m, s, w);
            mean[r] = m;
            rstd[r] = s;
        }
    }

    /// <summary>
    /// Accumulates dinput, dweight and dbias (+=) from doutput, given forward's mean and rstd.
    /// </summary>
    /// <exception cref="ArgumentException">R or C not positive; a span length differs from R·C, R or C.</exception>
    public static void Backward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        int rowCount, int channels, VectorWidth width = VectorWidth.Auto)
    {
        KernelShape.Positive(rowCount, nameof(rowCount));
        KernelShape.Positive(channels, nameof(channels));
        int n = KernelShape.Product(rowCount, channels, "rowCount·channels");
        KernelShape.Length(dinput, n, nameof(dinput));
        KernelShape.Length(doutput, n, nameof(doutput));
        KernelShape.Length(input, n, nameof(input));
        KernelShape.Length(dweight, channels, nameof(dweight));
        KernelShape.Length(dbias, channels, nameof(dbias));
        KernelShape.Length(weight, channels, nameof(weight));
        KernelShape.Length(mean, rowCount, nameof(mean));
        KernelShape.Length(rstd, rowCount, nameof(rstd));
        VectorWidth w = KernelDispatch.Resolve(width);

        for (int r = 0; r < rowCount; r++)
        {
            // Forward: n̂ = (x − μ)·rstd; out = n̂·weight + bias. With g = weight·dout (the gradient reaching n̂):
            // dbias += dout; dweight += n̂·dout; dx = rstd·(g − mean(g) − n̂·mean(g·n̂)), the last two terms
            // being μ's and rstd's dependence on every x of the row.
            int o = r * channels;
            BackwardRow(dinput.Slice(o, channels), dweight, dbias, doutput.Slice(o, channels), input.Slice(o, channels),
                weight, mean[r], rstd[r], w);
        }
    }

    private static void Normalise(Span<float> outSpan, ReadOnlySpan<float> xSpan, ReadOnlySpan<float> wSpan, ReadOnlySpan<float> bSpan,
        float mean, float rstd, VectorWidth width)
    {
        ref float o = ref MemoryMarshal.GetReference(outSpan);
        ref float x = ref MemoryMarshal.GetReference(xSpan);
        ref float wt = ref MemoryMarshal.GetReference(wSpan);
        ref float b = ref MemoryMarshal.GetReference(bSpan);
        nuint n = (nuint)xSpan.Length, i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                Vector512<float> m = Vector512.Create(mean), s = Vector512.Create(rstd);
                for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
                {
                    Vector512<float> nh = (Vector512.LoadUnsafe(ref x, i) - m) * s;
                    Vector512.FusedMultiplyAdd(nh, Vector512.LoadUnsafe(ref wt, i), Vector512.LoadUnsafe(ref b, i)).StoreUnsafe(ref o, i);
                }
                break;
            }
            case VectorWidth.V256:
            {
                Vector256<float> m = Vector256.Create(mean), s = Vector256.Create(rstd);
                for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
                {
                    Vector256<float> nh = (Vector256.LoadUnsafe(ref x, i) - m) * s;
                    Vector256.FusedMultiplyAdd(nh, Vector256.LoadUnsafe(ref wt, i), Vector256.LoadUnsafe(ref b, i)).StoreUnsafe(ref o, i);
                }
                break;
            }
            case VectorWidth.V128:
            {
                Vector128<float> m = Vector128.Create(mean), s = Vector128.Create(rstd);
                for (; i + (nuint)Vector128<float>.Count <= n; i += (nuint)Vector128<float>.Count)
                {
                    Vector128<float> nh = (Vector128.LoadUnsafe(ref x, i) - m) * s;
                    Vector128.FusedMultiplyAdd(nh, Vector128.LoadUnsafe(ref wt, i), Vector128.LoadUnsafe(ref b, i)).StoreUnsafe(ref o, i);
                }
                break;
            }
        }
        // Scalar reference, and the vector paths' remainder (at most one vector's worth, same formula).
        for (; i < n; i++)
            Unsafe.Add(ref o, i) = (Unsafe.Add(ref x, i) - mean) * rstd * Unsafe.Add(ref wt, i) + Unsafe.Add(ref b, i);
    }

    private static void BackwardRow(Span<float> dxSpan, Span<float> dwSpan, Span<float> dbSpan, ReadOnlySpan<float> dySpan,
        ReadOnlySpan<float> xSpan, ReadOnlySpan<float> wSpan, float mean, float rstd, VectorWidth width)
    {
        ref float dx = ref MemoryMarshal.GetReference(dxSpan);
        ref float dw = ref MemoryMarshal.GetReference(dwSpan);
        ref float db = ref MemoryMarshal.GetReference(dbSpan);
        ref float dy = ref MemoryMarshal.GetReference(dySpan);
        ref float x = ref MemoryMarshal.GetReference(xSpan);
        ref float wt = ref MemoryMarshal.GetReference(wSpan);
        nuint n = (nuint)xSpan.Length;

        // Pass 1: Σ g and Σ g·n̂.
        float sumG = 0f, sumGN = 0f;
        nuint i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                Vector512<float> m = Vector512.Create(mean), s = Vector512.Create(rstd), a = default, c = default;
                for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
                {
                    Vector512<float> g = Vector512.LoadUnsafe(ref wt, i) * Vector512.LoadUnsafe(ref dy, i);
                    a += g;
                    c = Vector512.FusedMultiplyAdd(g, (Vector512.LoadUnsafe(ref x, i) - m) * s, c);
                }
                sumG = Vector512.Sum(a); sumGN = Vector512.Sum(c);
                break;
            }
            case VectorWidth.V256:
            {
                Vector256<float> m = Vector256.Create(mean), s = Vector256.Create(rstd), a = default, c = default;
                for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
                {
                    Vector256<float> g = Vector256.LoadUnsafe(ref wt, i) * Vector256.LoadUnsafe(ref dy, i);
                    a += g;
                    c = Vector256.FusedMultiplyAdd(g, (Vector256.LoadUnsafe(ref x, i) - m) * s, c);
                }
                sumG = Vector256.Sum(a); sumGN = Vector256.Sum(c);
                break;
            }
            case VectorWidth.V128:
            {
                Vector128<float> m = Vector128.Create(mean), s = Vector128.Create(rstd), a = default, c = default;
                for (; i + (nuint)Vector128<float>.Count <= n; i += (nuint)Vector128<float>.Count)
                {
                    Vector128<float> g = Vector128.LoadUnsafe(ref wt, i) * Vector128.LoadUnsafe(ref dy, i);
                    a += g;
                    c = Vector128.FusedMultiplyAdd(g, (Vector128.LoadUnsafe(ref x, i) - m) * s, c);
                }
                sumG = Vector128.Sum(a); sumGN = Vector128.Sum(c);
                break;
            }
        }
        for (; i < n; i++)
        {
            float g = Unsafe.Add(ref wt, i) * Unsafe.Add(ref dy, i);
            sumG += g;
            sumGN += g * ((Unsafe.Add(ref x, i) - mean) * rstd);
        }
        float meanG = sumG / n, meanGN = sumGN / n;

        // Pass 2: the three accumulations.
        i = 0;
        switch (width)
        {
            case VectorWidth.V512:
            {
                Vector512<float> m = Vector512.Create(mean), s = Vector512.Create(rstd), mg = Vector512.Create(meanG), mgn = Vector512.Create(meanGN);
                for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
                {
                    Vector512<float> d = Vector512.LoadUnsafe(ref dy, i);
                    Vector512<float> nh = (Vector512.LoadUnsafe(ref x, i) - m) * s;
                    (Vector512.LoadUnsafe(ref db, i) + d).StoreUnsafe(ref db, i);
                    Vector512.FusedMultiplyAdd(nh, d, Vector512.LoadUnsafe(ref dw, i)).StoreUnsafe(ref dw, i);
                    Vector512<float> t = Vector512.LoadUnsafe(ref wt, i) * d - mg - nh * mgn;
                    Vector512.FusedMultiplyAdd(t, s, Vector512.LoadUnsafe(ref dx, i)).StoreUnsafe(ref dx, i);
                }
                break;
            }
            case VectorWidth.V256:
            {
                Vector256<float> m = Vector256.Create(mean), s = Vector256.Create(rstd), mg = Vector256.Create(meanG), mgn = Vector256.Create(meanGN);
                for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
                {
                    Vector256<float> d = Vector256.LoadUnsafe(ref dy, i);
                    Vector256<float> nh = (Vector256.LoadUnsafe(ref x, i) - m) * s;
                    (Vector256.LoadUnsafe(ref db, i) + d).StoreUnsafe(ref db, i);
                    Vector256.FusedMultiplyAdd(nh, d, Vector256.LoadUnsafe(ref dw, i)).StoreUnsafe(ref dw, i);
                    Vector256<float> t = Vector256.LoadUnsafe(ref wt, i) * d - mg - nh * mgn;
                    Vector256.FusedMultiplyAdd(t, s, Vector256.LoadUnsafe(ref dx, i)).StoreUnsafe(ref dx, i);
                }
                break;
            }
            case VectorWidth.V128:
            {
                Vector128<float> m = Vector128.Create(mean), s = Vector128.Create(rstd), mg = Vector128.Create(meanG), mgn = Vector128.Create(meanGN);
                for (; i + (nuint)Vector128<float>.Count <= n; i += (nuint)Vector128<float>.Count)
                {
                    Vector128<float> d = Vector128.LoadUnsafe(ref dy, i);
                    Vector128<float> nh = (Vector128.LoadUnsafe(ref x, i) - m) * s;
                    (Vector128.LoadUnsafe(ref db, i) + d).StoreUnsafe(ref db, i);
                    Vector128.FusedMultiplyAdd(nh, d, Vector128.LoadUnsafe(ref dw, i)).StoreUnsafe(ref dw, i);
                    Vector128<float> t = Vector128.LoadUnsafe(ref wt, i) * d - mg - nh * mgn;
                    Vector128.FusedMultiplyAdd(t, s, Vector128.LoadUnsafe(ref dx, i)).StoreUnsafe(ref dx, i);
                }
                break;
            }
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref dy, i);
            float nh = (Unsafe.Add(ref x, i) - mean) * rstd;
            Unsafe.Add(ref db, i) += d;
            Unsafe.Add(ref dw, i) += nh * d;
            Unsafe.Add(ref dx, i) += (Unsafe.Add(ref wt, i) * d - meanG - nh * meanGN) * rstd;
        }
    }
}
