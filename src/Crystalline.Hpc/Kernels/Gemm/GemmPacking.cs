using System.Runtime.CompilerServices;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous micro-panel layout the micro-kernels read,
/// zero-padding partial panels so every tile runs the full kernel.
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
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + (long)ir * kc;
            if (!g.TransA)
            {
                // A(i, k) = a[i·lda + k]: read each row contiguously, write strided.
                for (int r = 0; r < rows; r++)
                {
                    float* s = g.A + (ic + ir + r) * lda + pc;
                    for (int p = 0; p < kc; p++) d[p * mr + r] = s[p];
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

    /// <summary>
    /// Packs k [pc, pc+kc) × columns [jc, jc+nc) of op(B): panel t (columns jc+t·nr …) at dst + t·nr·kc,
    /// laid out k-major with nr values per k.
    /// </summary>
    public static void PackB(in GemmArgs g, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        long ldb = g.Ldb;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (long)jr * kc;
            if (!g.TransB)
            {
                // B(k, j) = b[k·ldb + j]: a straight copy of each k row's slice.
                for (int p = 0; p < kc; p++)
                {
                    float* s = g.B + (pc + p) * ldb + jc + jr;
                    Unsafe.CopyBlockUnaligned(d + p * nr, s, (uint)(cols * sizeof(float)));
                    if (cols < nr) new Span<float>(d + p * nr + cols, nr - cols).Clear();
                }
            }
            else
            {
                // B(k, j) = b[j·ldb + k]: a transpose.
                for (int j = 0; j < cols; j++)
                {
                    float* s = g.B + (jc + jr + j) * ldb + pc;
                    for (int p = 0; p < kc; p++) d[p * nr + j] = s[p];
                }
                if (cols < nr)
                {
                    for (int p = 0; p < kc; p++) new Span<float>(d + p * nr + cols, nr - cols).Clear();
                }
            }
        }
    }
}
