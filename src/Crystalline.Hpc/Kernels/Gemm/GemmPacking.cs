using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous micro-panel layout the micro-kernels read,
/// zero-padding partial panels so every tile runs the full kernel. Packing only moves values; it
/// never changes them, so it has no effect on the result.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs rows [ic, ic+mc) × k [pc, pc+kc) of op(A): panel t (rows ic+t·mr …) at dst + t·mr·kc,
    /// laid out k-major with mr values per k.
    /// </summary>
    public static void PackA(in GemmArgs g, int ic, int mc, int pc, int kc, int mr, float* dst)
    {
        long lda = g.Lda;
        if (g.TransA && mr == 6 && mc <= TransposedRowsAtOnce)
        {
            PackTransposedA6(in g, ic, mc, pc, kc, dst);
            return;
        }
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + (long)ir * kc;
            if (!g.TransA)
            {
                float* s = g.A + (ic + ir) * lda + pc;
                if (rows == 6 && mr == 6)
                {
                    // The common case: six row streams, one contiguous 6-value store per k.
                    float* s0 = s, s1 = s + lda, s2 = s + 2 * lda, s3 = s + 3 * lda, s4 = s + 4 * lda, s5 = s + 5 * lda;
                    for (int p = 0; p < kc; p++, d += 6)
                    {
                        d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p]; d[4] = s4[p]; d[5] = s5[p];
                    }
                    continue;
                }
                // A(i, k) = a[i·lda + k]: read each row contiguously, write strided.
                for (int r = 0; r < rows; r++)
                {
                    float* sr = s + r * lda;
                    for (int p = 0; p < kc; p++) d[p * mr + r] = sr[p];
                }
            }
            else
            {
                // A(i, k) = a[k·lda + i]: each k already holds the panel's rows contiguously.
                for (int p = 0; p < kc; p++)
                {
                    float* s = g.A + (pc + p) * lda + ic + ir;
                    for (int r = 0; r < rows; r++) d[p * mr + r] = s[r];
                }
            }
            if (rows < mr)
            {
                for (int p = 0; p < kc; p++)
                    for (int r = rows; r < mr; r++) d[p * mr + r] = 0f;
            }
        }
    }

    /// <summary>Rows of op(A) up to which a transposed A is packed k row by k row (<see cref="PackTransposedA6"/>).</summary>
    internal const int TransposedRowsAtOnce = 96;

    /// <summary>
    /// Aᵀ's rows [ic, ic+mc) × k [pc, pc+kc) into 6-row panels, one stored row of A (one k) at a time: its mc
    /// contiguous values are dealt six to a panel. The panel-by-panel order reads the same rows mc/6 times,
    /// 24 bytes each, which at a narrow block (the trainer's 48-row weight-gradient blocks, k = tokens, rows of up to
    /// 201 KB apart) was latency-bound: 55 ms of a gpt2-124M step's 520 ms of fused dW at 2.5 GB/s. Here each row
    /// is read once, and rows a few k ahead are prefetched.
    /// </summary>
    private static void PackTransposedA6(in GemmArgs g, int ic, int mc, int pc, int kc, float* dst)
    {
        const int mr = 6, ahead = 8;
        long lda = g.Lda;
        int full = mc / mr * mr;
        int lines = (mc + 15) / 16;
        float* s = g.A + (long)pc * lda + ic;
        for (int p = 0; p < kc; p++, s += lda)
        {
            if (Sse.IsSupported && p + ahead < kc)
                for (int l = 0; l < lines; l++) Sse.Prefetch0(s + ahead * lda + 16 * l);
            float* d = dst + p * mr;
            int r = 0;
            for (; r < full; r += mr, d += (long)mr * kc)
            {
                Vector128.Store(Vector128.Load(s + r), d);
                d[4] = s[r + 4];
                d[5] = s[r + 5];
            }
            if (r < mc)
            {
                int i = 0;
                for (; r + i < mc; i++) d[i] = s[r + i];
                for (; i < mr; i++) d[i] = 0f;
            }
        }
    }

    /// <summary>Packs op(A) for the kernels of <paramref name="precision"/> (bf16: <see cref="Bf16Packing.PackA"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackA(in GemmArgs g, int ic, int mc, int pc, int kc, int mr, float* dst, GemmPrecision precision)
    {
        if (precision == GemmPrecision.Bf16) Bf16Packing.PackA(in g, ic, mc, pc, kc, mr, dst);
        else PackA(in g, ic, mc, pc, kc, mr, dst);
    }

    /// <summary>Packs op(B) for the kernels of <paramref name="precision"/> (bf16: <see cref="Bf16Packing.PackB"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackB(in GemmArgs g, int pc, int kc, int jc, int nc, int nr, float* dst, GemmPrecision precision)
    {
        if (precision == GemmPrecision.Bf16) Bf16Packing.PackB(in g, pc, kc, jc, nc, nr, dst);
        else PackB(in g, pc, kc, jc, nc, nr, dst);
    }

    /// <summary>
    /// Packs k [pc, pc+kc) × columns [jc, jc+nc) of op(B): panel t (columns jc+t·nr …) at dst + t·nr·kc,
    /// laid out k-major with nr values per k.
    /// </summary>
    public static void PackB(in GemmArgs g, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        if (!g.TransB) PackBRows(in g, pc, kc, jc, nc, nr, dst);
        else PackBTransposed(in g, pc, kc, jc, nc, nr, dst);
    }

    /// <summary>B(k, j) = b[k·ldb + j]: each k row of the block is read once, left to right, and dealt to the panels.</summary>
    private static void PackBRows(in GemmArgs g, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        long ldb = g.Ldb;
        if (nr == 64 && Vector512.IsHardwareAccelerated)
        {
            // Panel by panel: each panel written front to back in whole lines from four-line pieces of the k rows.
            int full64 = nc / 64 * 64;
            float* d = dst;
            for (int jr = 0; jr < full64; jr += 64)
            {
                float* src = g.B + (long)pc * ldb + jc + jr;
                for (int p = 0; p < kc; p++, src += ldb, d += 64)
                {
                    Vector512.Store(Vector512.Load(src), d);
                    Vector512.Store(Vector512.Load(src + 16), d + 16);
                    Vector512.Store(Vector512.Load(src + 32), d + 32);
                    Vector512.Store(Vector512.Load(src + 48), d + 48);
                }
            }
            if (full64 == nc) return;
            // The last, partial panel: as below.
            dst += (long)full64 * kc;
            jc += full64;
            nc -= full64;
        }
        int fullCols = nc / nr * nr;
        long panelStride = (long)nr * kc;
        for (int p = 0; p < kc; p++)
        {
            float* s = g.B + (pc + p) * ldb + jc;
            float* d = dst + (long)p * nr;
            int jr = 0;
            for (; jr < fullCols; jr += nr, d += panelStride) CopyRow(d, s + jr, nr);
            if (jr < nc)
            {
                int cols = nc - jr;
                for (int j = 0; j < cols; j++) d[j] = s[jr + j];
                for (int j = cols; j < nr; j++) d[j] = 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* d, float* s, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(s + i), d + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(s + i), d + i);
        for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(s + i), d + i);
        for (; i < count; i++) d[i] = s[i];
    }

    /// <summary>B(k, j) = b[j·ldb + k]: a transpose, done in 8×8 register blocks where AVX allows.</summary>
    private static void PackBTransposed(in GemmArgs g, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        long ldb = g.Ldb;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (long)jr * kc;
            float* s = g.B + (jc + jr) * ldb + pc;
            int j = 0;
            if (Avx512F.IsSupported)
            {
                // Whole cache lines: sixteen k of sixteen columns per register transpose.
                int kc16 = kc / 16 * 16;
                for (; j + 16 <= cols; j += 16)
                {
                    float* sj = s + j * ldb;
                    int p = 0;
                    for (; p < kc16; p += 16) Transpose16x16(sj + p, ldb, d + (long)p * nr + j, nr);
                    for (; p < kc; p++)
                        for (int jj = 0; jj < 16; jj++) d[(long)p * nr + j + jj] = sj[jj * ldb + p];
                }
            }
            if (Avx.IsSupported)
            {
                int kc8 = kc / 8 * 8;
                for (; j + 8 <= cols; j += 8)
                {
                    float* sj = s + j * ldb;
                    int p = 0;
                    for (; p < kc8; p += 8) Transpose8x8(sj + p, ldb, d + (long)p * nr + j, nr);
                    for (; p < kc; p++)
                        for (int jj = 0; jj < 8; jj++) d[(long)p * nr + j + jj] = sj[jj * ldb + p];
                }
            }
            for (; j < cols; j++)
            {
                float* sj = s + j * ldb;
                for (int p = 0; p < kc; p++) d[(long)p * nr + j] = sj[p];
            }
            if (cols < nr)
                for (int p = 0; p < kc; p++)
                    for (int jj = cols; jj < nr; jj++) d[(long)p * nr + jj] = 0f;
        }
    }

    /// <summary>
    /// dst[r·dstStride + c] = src[c·srcStride + r] for a 16×16 block: AVX-512 unpacks and in-lane shuffles transpose the
    /// 4×4 blocks of each 128-bit lane, two rounds of lane shuffles (vshuff32x4) put the lanes in place — 64 shuffles
    /// for 256 values, and every load and store a whole 64-byte line (the 8×8 AVX transpose needs 0.375 shuffles per
    /// value and touches half lines).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose16x16(float* src, long srcStride, float* dst, long dstStride)
    {
        // Stage 1: interleave row pairs within each 128-bit lane.
        var r0 = Avx512F.LoadVector512(src); var r1 = Avx512F.LoadVector512(src + srcStride);
        var r2 = Avx512F.LoadVector512(src + 2 * srcStride); var r3 = Avx512F.LoadVector512(src + 3 * srcStride);
        var r4 = Avx512F.LoadVector512(src + 4 * srcStride); var r5 = Avx512F.LoadVector512(src + 5 * srcStride);
        var r6 = Avx512F.LoadVector512(src + 6 * srcStride); var r7 = Avx512F.LoadVector512(src + 7 * srcStride);
        var r8 = Avx512F.LoadVector512(src + 8 * srcStride); var r9 = Avx512F.LoadVector512(src + 9 * srcStride);
        var r10 = Avx512F.LoadVector512(src + 10 * srcStride); var r11 = Avx512F.LoadVector512(src + 11 * srcStride);
        var r12 = Avx512F.LoadVector512(src + 12 * srcStride); var r13 = Avx512F.LoadVector512(src + 13 * srcStride);
        var r14 = Avx512F.LoadVector512(src + 14 * srcStride); var r15 = Avx512F.LoadVector512(src + 15 * srcStride);
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);
        // Stage 2: u[4g + m], lane l = column 4l + m of rows 4g … 4g+3.
        var u0 = Avx512F.Shuffle(t0, t2, 0x44); var u1 = Avx512F.Shuffle(t0, t2, 0xEE);
        var u2 = Avx512F.Shuffle(t1, t3, 0x44); var u3 = Avx512F.Shuffle(t1, t3, 0xEE);
        var u4 = Avx512F.Shuffle(t4, t6, 0x44); var u5 = Avx512F.Shuffle(t4, t6, 0xEE);
        var u6 = Avx512F.Shuffle(t5, t7, 0x44); var u7 = Avx512F.Shuffle(t5, t7, 0xEE);
        var u8 = Avx512F.Shuffle(t8, t10, 0x44); var u9 = Avx512F.Shuffle(t8, t10, 0xEE);
        var u10 = Avx512F.Shuffle(t9, t11, 0x44); var u11 = Avx512F.Shuffle(t9, t11, 0xEE);
        var u12 = Avx512F.Shuffle(t12, t14, 0x44); var u13 = Avx512F.Shuffle(t12, t14, 0xEE);
        var u14 = Avx512F.Shuffle(t13, t15, 0x44); var u15 = Avx512F.Shuffle(t13, t15, 0xEE);
        // Stages 3 and 4, per m: gather lane l of the four row groups into output row 4l + m.
        Lanes(u0, u4, u8, u12, dst, dstStride, 0);
        Lanes(u1, u5, u9, u13, dst, dstStride, 1);
        Lanes(u2, u6, u10, u14, dst, dstStride, 2);
        Lanes(u3, u7, u11, u15, dst, dstStride, 3);
    }

    /// <summary>g0 … g3: lane l holds column 4l + m of row group 0 … 3; stores output rows m, 4 + m, 8 + m, 12 + m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lanes(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float> g3, float* dst, long dstStride, int m)
    {
        var x0 = Avx512F.Shuffle4x128(g0, g1, 0x88); // g0.l0 g0.l2 g1.l0 g1.l2
        var x1 = Avx512F.Shuffle4x128(g0, g1, 0xDD); // g0.l1 g0.l3 g1.l1 g1.l3
        var y0 = Avx512F.Shuffle4x128(g2, g3, 0x88);
        var y1 = Avx512F.Shuffle4x128(g2, g3, 0xDD);
        Avx512F.Store(dst + m * dstStride, Avx512F.Shuffle4x128(x0, y0, 0x88));        // lane 0 of every group
        Avx512F.Store(dst + (8 + m) * dstStride, Avx512F.Shuffle4x128(x0, y0, 0xDD));  // lane 2
        Avx512F.Store(dst + (4 + m) * dstStride, Avx512F.Shuffle4x128(x1, y1, 0x88));  // lane 1
        Avx512F.Store(dst + (12 + m) * dstStride, Avx512F.Shuffle4x128(x1, y1, 0xDD)); // lane 3
    }

    /// <summary>dst[r·dstStride + c] = src[c·srcStride + r] for an 8×8 block (the classic AVX unpack/shuffle/permute transpose).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, long srcStride, float* dst, long dstStride)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride);
        var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride);
        var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride);
        var r7 = Avx.LoadVector256(src + 7 * srcStride);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
