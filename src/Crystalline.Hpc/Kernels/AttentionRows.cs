using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Attention's inner loops over the keys/values of one head: rows of length hs at a fixed stride (3C)
/// in qkv. Working on all rows t2 ≤ t in one call keeps the vector being dotted or accumulated in
/// registers across rows, where a call per row would reload it and pay a horizontal sum and call
/// overhead for only hs = 64 elements of work. The scalar branch of each is the reference.
/// Callers validate bounds: the last row read is at offset (count − 1)·stride + hs − 1.
/// </summary>
internal static class AttentionRows
{
    /// <summary>dst[j] = scale·(x · rows_j), or dst[j] += that when <paramref name="accumulate"/>.</summary>
    public static void DotRows(Span<float> dst, ReadOnlySpan<float> x, ReadOnlySpan<float> rows, int stride, int count, float scale,
        bool accumulate, VectorWidth width)
    {
        ref float d = ref MemoryMarshal.GetReference(dst);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float r = ref MemoryMarshal.GetReference(rows);
        nuint hs = (nuint)x.Length, st = (nuint)stride, n = (nuint)count;
        switch (width)
        {
            case VectorWidth.V512: DotRows<Simd512, Vector512<float>>(ref d, ref xr, hs, ref r, st, n, scale, accumulate); break;
            case VectorWidth.V256: DotRows<Simd256, Vector256<float>>(ref d, ref xr, hs, ref r, st, n, scale, accumulate); break;
            case VectorWidth.V128: DotRows<Simd128, Vector128<float>>(ref d, ref xr, hs, ref r, st, n, scale, accumulate); break;
            default:
                for (nuint j = 0; j < n; j++)
                {
                    ref float row = ref Unsafe.Add(ref r, j * st);
                    float s = 0f;
                    for (nuint c = 0; c < hs; c++) s += Unsafe.Add(ref xr, c) * Unsafe.Add(ref row, c);
                    float v = s * scale;
                    Unsafe.Add(ref d, j) = accumulate ? Unsafe.Add(ref d, j) + v : v;
                }
                break;
        }
    }

    /// <summary>acc[c] += Σ_j (scale·coef[j])·rows_j[c], rows in increasing j.</summary>
    public static void WeightedRowSum(Span<float> acc, ReadOnlySpan<float> coef, float scale, ReadOnlySpan<float> rows, int stride, int count,
        VectorWidth width)
    {
        ref float a = ref MemoryMarshal.GetReference(acc);
        ref float k = ref MemoryMarshal.GetReference(coef);
        ref float r = ref MemoryMarshal.GetReference(rows);
        nuint hs = (nuint)acc.Length, st = (nuint)stride, n = (nuint)count;
        switch (width)
        {
            case VectorWidth.V512: WeightedRowSum<Simd512, Vector512<float>>(ref a, hs, ref k, scale, ref r, st, n); break;
            case VectorWidth.V256: WeightedRowSum<Simd256, Vector256<float>>(ref a, hs, ref k, scale, ref r, st, n); break;
            case VectorWidth.V128: WeightedRowSum<Simd128, Vector128<float>>(ref a, hs, ref k, scale, ref r, st, n); break;
            default:
                for (nuint j = 0; j < n; j++)
                {
                    float w = scale * Unsafe.Add(ref k, j);
                    ref float row = ref Unsafe.Add(ref r, j * st);
                    for (nuint c = 0; c < hs; c++) Unsafe.Add(ref a, c) += w * Unsafe.Add(ref row, c);
                }
                break;
        }
    }

    /// <summary>rows_j[c] += (scale·coef[j])·x[c] for every row j.</summary>
    public static void RowUpdate(Span<float> rows, int stride, int count, ReadOnlySpan<float> coef, float scale, ReadOnlySpan<float> x,
        VectorWidth width)
    {
        ref float r = ref MemoryMarshal.GetReference(rows);
        ref float k = ref MemoryMarshal.GetReference(coef);
        ref float xr = ref MemoryMarshal.GetReference(x);
        nuint hs = (nuint)x.Length, st = (nuint)stride, n = (nuint)count;
        switch (width)
        {
            case VectorWidth.V512: RowUpdate<Simd512, Vector512<float>>(ref r, st, n, ref k, scale, ref xr, hs); break;
            case VectorWidth.V256: RowUpdate<Simd256, Vector256<float>>(ref r, st, n, ref k, scale, ref xr, hs); break;
            case VectorWidth.V128: RowUpdate<Simd128, Vector128<float>>(ref r, st, n, ref k, scale, ref xr, hs); break;
            default:
                for (nuint j = 0; j < n; j++)
                {
                    float w = scale * Unsafe.Add(ref k, j);
                    ref float row = ref Unsafe.Add(ref r, j * st);
                    for (nuint c = 0; c < hs; c++) Unsafe.Add(ref row, c) += w * Unsafe.Add(ref xr, c);
                }
                break;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DotRows<TS, TVec>(ref float d, ref float x, nuint hs, ref float rows, nuint stride, nuint count, float scale, bool accumulate)
        where TS : ISimdOps<TVec> where TVec : struct
    {
        nuint w = TS.Count, full = hs - hs % w, tail = hs - full, j = 0;
        // Four rows at a time share each load of x and give four independent FMA chains.
        for (; j + 4 <= count; j += 4)
        {
            ref float r0 = ref Unsafe.Add(ref rows, j * stride);
            ref float r1 = ref Unsafe.Add(ref r0, stride);
            ref float r2 = ref Unsafe.Add(ref r1, stride);
            ref float r3 = ref Unsafe.Add(ref r2, stride);
            TVec a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
            for (nuint c = 0; c < full; c += w)
            {
                TVec xv = TS.Load(ref x, c);
                a0 = TS.FusedMultiplyAdd(xv, TS.Load(ref r0, c), a0);
                a1 = TS.FusedMultiplyAdd(xv, TS.Load(ref r1, c), a1);
                a2 = TS.FusedMultiplyAdd(xv, TS.Load(ref r2, c), a2);
                a3 = TS.FusedMultiplyAdd(xv, TS.Load(ref r3, c), a3);
            }
            if (tail != 0)
            {
                TVec xv = TS.LoadPartial(ref Unsafe.Add(ref x, full), tail);
                a0 = TS.FusedMultiplyAdd(xv, TS.LoadPartial(ref Unsafe.Add(ref r0, full), tail), a0);
                a1 = TS.FusedMultiplyAdd(xv, TS.LoadPartial(ref Unsafe.Add(ref r1, full), tail), a1);
                a2 = TS.FusedMultiplyAdd(xv, TS.LoadPartial(ref Unsafe.Add(ref r2, full), tail), a2);
                a3 = TS.FusedMultiplyAdd(xv, TS.LoadPartial(ref Unsafe.Add(ref r3, full), tail), a3);
            }
            Vector128<float> v = TS.Sum4(a0, a1, a2, a3) * Vector128.Create(scale);
            if (accumulate) v = Vector128.LoadUnsafe(ref d, j) + v;
            v.StoreUnsafe(ref d, j);
        }
        for (; j < count; j++)
        {
            ref float r0 = ref Unsafe.Add(ref rows, j * stride);
            TVec a0 = TS.Zero;
            for (nuint c = 0; c < full; c += w) a0 = TS.FusedMultiplyAdd(TS.Load(ref x, c), TS.Load(ref r0, c), a0);
            if (tail != 0)
                a0 = TS.FusedMultiplyAdd(TS.LoadPartial(ref Unsafe.Add(ref x, full), tail), TS.LoadPartial(ref Unsafe.Add(ref r0, full), tail), a0);
            Put(ref Unsafe.Add(ref d, j), TS.Sum(a0) * scale, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ref float target, float value, bool accumulate) => target = accumulate ? target + value : value;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WeightedRowSum<TS, TVec>(ref float acc, nuint hs, ref float coef, float scale, ref float rows, nuint stride, nuint count)
        where TS : ISimdOps<TVec> where TVec : struct
    {
        nuint w = TS.Count, c = 0;
        // Up to four vectors of acc stay in registers while every row is added in.
        for (; c + 4 * w <= hs; c += 4 * w)
        {
            TVec a0 = TS.Load(ref acc, c), a1 = TS.Load(ref acc, c + w), a2 = TS.Load(ref acc, c + 2 * w), a3 = TS.Load(ref acc, c + 3 * w);
            for (nuint j = 0; j < count; j++)
            {
                ref float row = ref Unsafe.Add(ref rows, j * stride + c);
                TVec s = TS.Broadcast(scale * Unsafe.Add(ref coef, j));
                a0 = TS.FusedMultiplyAdd(s, TS.Load(ref row, 0), a0);
                a1 = TS.FusedMultiplyAdd(s, TS.Load(ref row, w), a1);
                a2 = TS.FusedMultiplyAdd(s, TS.Load(ref row, 2 * w), a2);
                a3 = TS.FusedMultiplyAdd(s, TS.Load(ref row, 3 * w), a3);
            }
            TS.Store(a0, ref acc, c); TS.Store(a1, ref acc, c + w); TS.Store(a2, ref acc, c + 2 * w); TS.Store(a3, ref acc, c + 3 * w);
        }
        for (; c + w <= hs; c += w)
        {
            TVec a0 = TS.Load(ref acc, c);
            for (nuint j = 0; j < count; j++)
                a0 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef, j)), TS.Load(ref Unsafe.Add(ref rows, j * stride + c), 0), a0);
            TS.Store(a0, ref acc, c);
        }
        if (c < hs)
        {
            nuint tail = hs - c;
            TVec a0 = TS.LoadPartial(ref Unsafe.Add(ref acc, c), tail);
            for (nuint j = 0; j < count; j++)
                a0 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef, j)), TS.LoadPartial(ref Unsafe.Add(ref rows, j * stride + c), tail), a0);
            TS.StorePartial(a0, ref Unsafe.Add(ref acc, c), tail);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RowUpdate<TS, TVec>(ref float rows, nuint stride, nuint count, ref float coef, float scale, ref float x, nuint hs)
        where TS : ISimdOps<TVec> where TVec : struct
    {
        nuint w = TS.Count, c = 0;
        // Up to four vectors of x stay in registers while every row is updated.
        for (; c + 4 * w <= hs; c += 4 * w)
        {
            TVec x0 = TS.Load(ref x, c), x1 = TS.Load(ref x, c + w), x2 = TS.Load(ref x, c + 2 * w), x3 = TS.Load(ref x, c + 3 * w);
            for (nuint j = 0; j < count; j++)
            {
                ref float row = ref Unsafe.Add(ref rows, j * stride + c);
                TVec s = TS.Broadcast(scale * Unsafe.Add(ref coef, j));
                TS.Store(TS.FusedMultiplyAdd(s, x0, TS.Load(ref row, 0)), ref row, 0);
                TS.Store(TS.FusedMultiplyAdd(s, x1, TS.Load(ref row, w)), ref row, w);
                TS.Store(TS.FusedMultiplyAdd(s, x2, TS.Load(ref row, 2 * w)), ref row, 2 * w);
                TS.Store(TS.FusedMultiplyAdd(s, x3, TS.Load(ref row, 3 * w)), ref row, 3 * w);
            }
        }
        for (; c + w <= hs; c += w)
        {
            TVec x0 = TS.Load(ref x, c);
            for (nuint j = 0; j < count; j++)
            {
                ref float row = ref Unsafe.Add(ref rows, j * stride + c);
                TS.Store(TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef, j)), x0, TS.Load(ref row, 0)), ref row, 0);
            }
        }
        if (c < hs)
        {
            nuint tail = hs - c;
            TVec x0 = TS.LoadPartial(ref Unsafe.Add(ref x, c), tail);
            for (nuint j = 0; j < count; j++)
            {
                ref float row = ref Unsafe.Add(ref rows, j * stride + c);
                TS.StorePartial(TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef, j)), x0, TS.LoadPartial(ref row, tail)), ref row, tail);
            }
        }
    }

    /// <summary>
    /// <see cref="WeightedRowSum"/> for four queries at once over the same rows: each row is loaded once
    /// for four accumulators. Every accumulator still receives its rows in increasing j, so the result
    /// is bitwise that of four separate vector calls. Vector widths only.
    /// </summary>
    public static void WeightedRowSum4(Span<float> acc0, Span<float> acc1, Span<float> acc2, Span<float> acc3,
        ReadOnlySpan<float> coef0, ReadOnlySpan<float> coef1, ReadOnlySpan<float> coef2, ReadOnlySpan<float> coef3,
        float scale, ReadOnlySpan<float> rows, int stride, int count, VectorWidth width)
    {
        var a = new Quad(acc0, acc1, acc2, acc3);
        var k = new Quad(coef0, coef1, coef2, coef3);
        ref float r = ref MemoryMarshal.GetReference(rows);
        nuint hs = (nuint)acc0.Length, st = (nuint)stride, n = (nuint)count;
        switch (width)
        {
            case VectorWidth.V512: WeightedRowSum4<Simd512, Vector512<float>>(a, k, scale, ref r, st, n, hs); break;
            case VectorWidth.V256: WeightedRowSum4<Simd256, Vector256<float>>(a, k, scale, ref r, st, n, hs); break;
            case VectorWidth.V128: WeightedRowSum4<Simd128, Vector128<float>>(a, k, scale, ref r, st, n, hs); break;
            default: throw new ArgumentException("the four-query kernels have no scalar form; use WeightedRowSum", nameof(width));
        }
    }

    /// <summary>
    /// <see cref="RowUpdate"/> for four (coef, x) pairs at once: each row is loaded and stored once and
    /// receives the four updates in order 0, 1, 2, 3, bitwise as four separate vector calls in that order.
    /// </summary>
    public static void RowUpdate4(Span<float> rows, int stride, int count,
        ReadOnlySpan<float> coef0, ReadOnlySpan<float> coef1, ReadOnlySpan<float> coef2, ReadOnlySpan<float> coef3, float scale,
        ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2, ReadOnlySpan<float> x3, VectorWidth width)
    {
        var k = new Quad(coef0, coef1, coef2, coef3);
        var x = new Quad(x0, x1, x2, x3);
        ref float r = ref MemoryMarshal.GetReference(rows);
        nuint hs = (nuint)x0.Length, st = (nuint)stride, n = (nuint)count;
        switch (width)
        {
            case VectorWidth.V512: RowUpdate4<Simd512, Vector512<float>>(ref r, st, n, k, scale, x, hs); break;
            case VectorWidth.V256: RowUpdate4<Simd256, Vector256<float>>(ref r, st, n, k, scale, x, hs); break;
            case VectorWidth.V128: RowUpdate4<Simd128, Vector128<float>>(ref r, st, n, k, scale, x, hs); break;
            default: throw new ArgumentException("the four-query kernels have no scalar form; use RowUpdate", nameof(width));
        }
    }

    /// <summary>Four float references (spans' first elements) handed to the generic kernels.</summary>
    private readonly ref struct Quad
    {
        public readonly ref float P0;
        public readonly ref float P1;
        public readonly ref float P2;
        public readonly ref float P3;

        public Quad(ReadOnlySpan<float> s0, ReadOnlySpan<float> s1, ReadOnlySpan<float> s2, ReadOnlySpan<float> s3)
        {
            P0 = ref MemoryMarshal.GetReference(s0);
            P1 = ref MemoryMarshal.GetReference(s1);
            P2 = ref MemoryMarshal.GetReference(s2);
            P3 = ref MemoryMarshal.GetReference(s3);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WeightedRowSum4<TS, TVec>(Quad acc, Quad coef, float scale, ref float rows, nuint stride, nuint count, nuint hs)
        where TS : ISimdOps<TVec> where TVec : struct
    {
        nuint w = TS.Count, c = 0;
        // Two vectors per query: 8 accumulators + 2 row vectors + 4 broadcasts fit 16 registers (AVX2).
        for (; c + 2 * w <= hs; c += 2 * w)
        {
            TVec a00 = TS.Load(ref acc.P0, c), a01 = TS.Load(ref acc.P0, c + w);
            TVec a10 = TS.Load(ref acc.P1, c), a11 = TS.Load(ref acc.P1, c + w);
            TVec a20 = TS.Load(ref acc.P2, c), a21 = TS.Load(ref acc.P2, c + w);
            TVec a30 = TS.Load(ref acc.P3, c), a31 = TS.Load(ref acc.P3, c + w);
            for (nuint j = 0; j < count; j++)
            {
                ref float row = ref Unsafe.Add(ref rows, j * stride + c);
                TVec r0 = TS.Load(ref row, 0), r1 = TS.Load(ref row, w);
                TVec s0 = TS.Broadcast(scale * Unsafe.Add(ref coef.P0, j));
                a00 = TS.FusedMultiplyAdd(s0, r0, a00); a01 = TS.FusedMultiplyAdd(s0, r1, a01);
                TVec s1 = TS.Broadcast(scale * Unsafe.Add(ref coef.P1, j));
                a10 = TS.FusedMultiplyAdd(s1, r0, a10); a11 = TS.FusedMultiplyAdd(s1, r1, a11);
                TVec s2 = TS.Broadcast(scale * Unsafe.Add(ref coef.P2, j));
                a20 = TS.FusedMultiplyAdd(s2, r0, a20); a21 = TS.FusedMultiplyAdd(s2, r1, a21);
                TVec s3 = TS.Broadcast(scale * Unsafe.Add(ref coef.P3, j));
                a30 = TS.FusedMultiplyAdd(s3, r0, a30); a31 = TS.FusedMultiplyAdd(s3, r1, a31);
            }
            TS.Store(a00, ref acc.P0, c); TS.Store(a01, ref acc.P0, c + w);
            TS.Store(a10, ref acc.P1, c); TS.Store(a11, ref acc.P1, c + w);
            TS.Store(a20, ref acc.P2, c); TS.Store(a21, ref acc.P2, c + w);
            TS.Store(a30, ref acc.P3, c); TS.Store(a31, ref acc.P3, c + w);
        }
        for (; c < hs; c += w)
        {
            nuint len = Math.Min(w, hs - c);
            TVec a0 = Get<TS, TVec>(ref acc.P0, c, len), a1 = Get<TS, TVec>(ref acc.P1, c, len);
            TVec a2 = Get<TS, TVec>(ref acc.P2, c, len), a3 = Get<TS, TVec>(ref acc.P3, c, len);
            for (nuint j = 0; j < count; j++)
            {
                TVec r0 = Get<TS, TVec>(ref rows, j * stride + c, len);
                a0 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P0, j)), r0, a0);
                a1 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P1, j)), r0, a1);
                a2 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P2, j)), r0, a2);
                a3 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P3, j)), r0, a3);
            }
            Put<TS, TVec>(a0, ref acc.P0, c, len); Put<TS, TVec>(a1, ref acc.P1, c, len);
            Put<TS, TVec>(a2, ref acc.P2, c, len); Put<TS, TVec>(a3, ref acc.P3, c, len);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RowUpdate4<TS, TVec>(ref float rows, nuint stride, nuint count, Quad coef, float scale, Quad x, nuint hs)
        where TS : ISimdOps<TVec> where TVec : struct
    {
        nuint w = TS.Count, c = 0;
        for (; c + 2 * w <= hs; c += 2 * w)
        {
            TVec x00 = TS.Load(ref x.P0, c), x01 = TS.Load(ref x.P0, c + w);
            TVec x10 = TS.Load(ref x.P1, c), x11 = TS.Load(ref x.P1, c + w);
            TVec x20 = TS.Load(ref x.P2, c), x21 = TS.Load(ref x.P2, c + w);
            TVec x30 = TS.Load(ref x.P3, c), x31 = TS.Load(ref x.P3, c + w);
            for (nuint j = 0; j < count; j++)
            {
                ref float row = ref Unsafe.Add(ref rows, j * stride + c);
                TVec r0 = TS.Load(ref row, 0), r1 = TS.Load(ref row, w);
                TVec s = TS.Broadcast(scale * Unsafe.Add(ref coef.P0, j));
                r0 = TS.FusedMultiplyAdd(s, x00, r0); r1 = TS.FusedMultiplyAdd(s, x01, r1);
                s = TS.Broadcast(scale * Unsafe.Add(ref coef.P1, j));
                r0 = TS.FusedMultiplyAdd(s, x10, r0); r1 = TS.FusedMultiplyAdd(s, x11, r1);
                s = TS.Broadcast(scale * Unsafe.Add(ref coef.P2, j));
                r0 = TS.FusedMultiplyAdd(s, x20, r0); r1 = TS.FusedMultiplyAdd(s, x21, r1);
                s = TS.Broadcast(scale * Unsafe.Add(ref coef.P3, j));
                r0 = TS.FusedMultiplyAdd(s, x30, r0); r1 = TS.FusedMultiplyAdd(s, x31, r1);
                TS.Store(r0, ref row, 0); TS.Store(r1, ref row, w);
            }
        }
        for (; c < hs; c += w)
        {
            nuint len = Math.Min(w, hs - c);
            TVec x0 = Get<TS, TVec>(ref x.P0, c, len), x1 = Get<TS, TVec>(ref x.P1, c, len);
            TVec x2 = Get<TS, TVec>(ref x.P2, c, len), x3 = Get<TS, TVec>(ref x.P3, c, len);
            for (nuint j = 0; j < count; j++)
            {
                nuint o = j * stride + c;
                TVec r0 = Get<TS, TVec>(ref rows, o, len);
                r0 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P0, j)), x0, r0);
                r0 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P1, j)), x1, r0);
                r0 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P2, j)), x2, r0);
                r0 = TS.FusedMultiplyAdd(TS.Broadcast(scale * Unsafe.Add(ref coef.P3, j)), x3, r0);
                Put<TS, TVec>(r0, ref rows, o, len);
            }
        }
    }

    /// <summary>A full vector at offset, or the first len (&lt; Count) elements zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Get<TS, TVec>(ref float source, nuint offset, nuint len) where TS : ISimdOps<TVec> where TVec : struct =>
        len == TS.Count ? TS.Load(ref source, offset) : TS.LoadPartial(ref Unsafe.Add(ref source, offset), len);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TS, TVec>(TVec value, ref float destination, nuint offset, nuint len) where TS : ISimdOps<TVec> where TVec : struct
    {
        if (len == TS.Count) TS.Store(value, ref destination, offset);
        else TS.StorePartial(value, ref Unsafe.Add(ref destination, offset), len);
    }
}
