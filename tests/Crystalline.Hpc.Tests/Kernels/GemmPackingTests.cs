using Crystalline.Hpc.Kernels.Gemm;
using Xunit;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>
/// Packing only moves values: every packed A block must hold exactly op(A)'s values in the micro-panel layout
/// (panel t at t·MR·kc, k-major, MR values per k, zeros past the last row) and write nothing beyond it — for
/// both storage orders and every path (the transposed one walks k rows at a time up to
/// <see cref="GemmPacking.TransposedRowsAtOnce"/> rows, panel by panel beyond); likewise B (panel t of NR columns at
/// t·NR·kc, k-major, zeros past the last column), whose transposed path goes through 16×16 and 8×8 register transposes
/// and scalar remainders.
/// </summary>
public unsafe class GemmPackingTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Packed_A_holds_op_a_in_micro_panels_and_nothing_else(bool transA)
    {
        const int mr = 6, rowsTotal = 120, kTotal = 300, guard = 64;
        foreach (int mc in new[] { 1, 5, 6, 7, 12, 47, 48, 49, 90, 95, 96, 97, 102 })
        foreach (int kc in new[] { 1, 5, 64, 256 })
        {
            int ic = 3, pc = 11;
            int lda = transA ? rowsTotal + 9 : kTotal + 9; // op(A)(i, k) = a[k·lda + i] when transposed
            var a = new float[(transA ? kTotal : rowsTotal) * lda];
            for (int i = 0; i < a.Length; i++) a[i] = i + 1;
            int panels = (mc + mr - 1) / mr;
            var dst = new float[panels * mr * kc + guard];
            Array.Fill(dst, float.NaN);
            fixed (float* pa = a)
            fixed (float* pd = dst)
            {
                var g = new GemmArgs(transA, false, rowsTotal, 1, kTotal, 1f, pa, lda, null, 1, 0f, null, 1);
                GemmPacking.PackA(in g, ic, mc, pc, kc, mr, pd);
            }
            for (int t = 0; t < panels; t++)
                for (int p = 0; p < kc; p++)
                    for (int r = 0; r < mr; r++)
                    {
                        int row = t * mr + r;
                        float expected = row < mc ? a[transA ? (pc + p) * lda + ic + row : (ic + row) * lda + pc + p] : 0f;
                        Assert.True(expected == dst[t * mr * kc + p * mr + r], $"mc {mc} kc {kc}: panel {t} k {p} row {r}: {dst[t * mr * kc + p * mr + r]} instead of {expected}");
                    }
            for (int i = panels * mr * kc; i < dst.Length; i++) Assert.True(float.IsNaN(dst[i]), $"mc {mc} kc {kc}: wrote past the block at {i}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Packed_B_holds_op_b_in_micro_panels_and_nothing_else(bool transB)
    {
        const int nr = 64, colsTotal = 200, kTotal = 300, guard = 64;
        foreach (int nc in new[] { 1, 7, 8, 15, 16, 17, 40, 64, 65, 130 })
        foreach (int kc in new[] { 1, 7, 8, 15, 16, 17, 64, 100, 256 })
        {
            int jc = 5, pc = 13;
            int ldb = transB ? kTotal + 3 : colsTotal + 3; // op(B)(k, j) = b[j·ldb + k] when transposed
            var b = new float[(transB ? colsTotal : kTotal) * ldb];
            for (int i = 0; i < b.Length; i++) b[i] = i + 1;
            int panels = (nc + nr - 1) / nr;
            var dst = new float[panels * nr * kc + guard];
            Array.Fill(dst, float.NaN);
            fixed (float* pb = b)
            fixed (float* pd = dst)
            {
                var g = new GemmArgs(false, transB, 1, colsTotal, kTotal, 1f, null, 1, pb, ldb, 0f, null, 1);
                GemmPacking.PackB(in g, pc, kc, jc, nc, nr, pd);
            }
            for (int t = 0; t < panels; t++)
                for (int p = 0; p < kc; p++)
                    for (int c = 0; c < nr; c++)
                    {
                        int col = t * nr + c;
                        float expected = col < nc ? b[transB ? (jc + col) * ldb + pc + p : (pc + p) * ldb + jc + col] : 0f;
                        Assert.True(expected == dst[t * nr * kc + p * nr + c], $"nc {nc} kc {kc}: panel {t} k {p} column {c}: {dst[t * nr * kc + p * nr + c]} instead of {expected}");
                    }
            for (int i = panels * nr * kc; i < dst.Length; i++) Assert.True(float.IsNaN(dst[i]), $"nc {nc} kc {kc}: wrote past the block at {i}");
        }
    }
}
