namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// The bf16 kernel's packers: the same micro-panels as <see cref="GemmPacking"/> (MR rows or NR columns,
/// k-major, zero-padded to whole panels) but each k step holds a pair of k as one 32-bit word (see
/// <see cref="Bf16"/>), so a KC slice of kc values takes ⌈kc/2⌉ steps. Rounding to bf16 happens here,
/// once per packed value.
/// </summary>
internal static unsafe class Bf16Packing
{
    /// <summary>Words per panel row for a k extent of <paramref name="kc"/>.</summary>
    public static int Steps(int kc) => (kc + 1) >> 1;

    /// <summary>Rows [ic, ic+mc) × k [pc, pc+kc) of op(A): panel t at dst + t·mr·⌈kc/2⌉ words.</summary>
    public static void PackA(in GemmArgs g, int ic, int mc, int pc, int kc, int mr, float* dst)
    {
        uint* d0 = (uint*)dst;
        int steps = Steps(kc);
        long lda = g.Lda;
        if (!g.TransA)
        {
            // A(i, k) = a[i·lda + k]: each row's run of k packs into words, then is dealt to its panel slot.
            uint* run = stackalloc uint[steps];
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                uint* d = d0 + (long)ir * steps;
                for (int r = 0; r < rows; r++)
                {
                    Bf16.PairRun(g.A + (ic + ir + r) * lda + pc, kc, run);
                    for (int q = 0; q < steps; q++) d[q * mr + r] = run[q];
                }
                for (int r = rows; r < mr; r++)
                    for (int q = 0; q < steps; q++) d[q * mr + r] = 0;
            }
            return;
        }
        // A(i, k) = a[k·lda + i]: rows k and k+1 of storage combine column by column into one word per i,
        // then each panel takes its mr consecutive words.
        uint* words = GemmScratch.Current.Words(mc);
        for (int q = 0; q < steps; q++)
        {
            float* even = g.A + (pc + 2 * q) * lda + ic;
            float* odd = 2 * q + 1 < kc ? even + lda : null;
            Bf16.PairRows(even, odd, mc, words);
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                uint* d = d0 + (long)ir * steps + (long)q * mr;
                for (int r = 0; r < rows; r++) d[r] = words[ir + r];
                for (int r = rows; r < mr; r++) d[r] = 0;
            }
        }
    }

    /// <summary>k [pc, pc+kc) × columns [jc, jc+nc) of op(B): panel t at dst + t·nr·⌈kc/2⌉ words.</summary>
    public static void PackB(in GemmArgs g, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        uint* d0 = (uint*)dst;
        int steps = Steps(kc);
        long ldb = g.Ldb;
        if (!g.TransB)
        {
            // B(k, j) = b[k·ldb + j]: rows k and k+1 combine straight into each panel's step.
            for (int jr = 0; jr < nc; jr += nr)
            {
                int cols = Math.Min(nr, nc - jr);
                uint* d = d0 + (long)jr * steps;
                for (int q = 0; q < steps; q++, d += nr)
                {
                    float* even = g.B + (pc + 2 * q) * ldb + jc + jr;
                    Bf16.PairRows(even, 2 * q + 1 < kc ? even + ldb : null, cols, d);
                    for (int j = cols; j < nr; j++) d[j] = 0;
                }
            }
            return;
        }
        // B(k, j) = b[j·ldb + k]: column j's run of k is contiguous. Eight columns at a time: pack each run
        // into words (a row of the staging block), then transpose 8×8 blocks of words into the panel
        // (words move as raw 32-bit lanes, so the float transpose serves).
        int stride = (steps + 7) & ~7;
        uint* block = GemmScratch.Current.Words(8L * stride);
        bool avx = System.Runtime.Intrinsics.X86.Avx.IsSupported;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            uint* d = d0 + (long)jr * steps;
            int j = 0;
            for (; avx && j + 8 <= cols; j += 8)
            {
                for (int r = 0; r < 8; r++) Bf16.PairRun(g.B + (jc + jr + j + r) * ldb + pc, kc, block + r * stride);
                int q = 0;
                for (; q + 8 <= steps; q += 8) GemmPacking.Transpose8x8((float*)(block + q), stride, (float*)(d + (long)q * nr + j), nr);
                for (; q < steps; q++)
                    for (int r = 0; r < 8; r++) d[(long)q * nr + j + r] = block[r * stride + q];
            }
            for (; j < cols; j++)
            {
                Bf16.PairRun(g.B + (jc + jr + j) * ldb + pc, kc, block);
                for (int q = 0; q < steps; q++) d[(long)q * nr + j] = block[q];
            }
            for (j = cols; j < nr; j++)
                for (int q = 0; q < steps; q++) d[(long)q * nr + j] = 0;
        }
    }
}
