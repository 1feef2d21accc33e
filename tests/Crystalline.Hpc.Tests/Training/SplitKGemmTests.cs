using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Tests.Kernels;
using Xunit;

namespace Crystalline.Hpc.Tests.Training;

/// <summary>
/// The GEMM driver splits a long k at KC multiples when the rows do not fit one packed-A block (so B is
/// packed once, not once per block of rows): the result must be the bits of the unsplit product.
/// </summary>
public unsafe class SplitKGemmTests
{
    public static TheoryData<int, int, int, int, bool, bool, bool> Cases()
    {
        var data = new TheoryData<int, int, int, int, bool, bool, bool>();
        // m, n, KC slices, extra k, transA, transB, bf16
        foreach (bool bf16 in new[] { false, true })
        {
            data.Add(5, 7, 3, 17, false, false, bf16);
            data.Add(13, 70, 4, 0, false, true, bf16);
            data.Add(20, 33, 3, 1, true, false, bf16);
            data.Add(64, 130, 2, 9, true, true, bf16);
        }
        return data;
    }

    private static void Run<TK>(in GemmArgs g, long budget, Crystalline.Hpc.Scheduling.ISphereExecutor? ex) where TK : struct, IMicroKernel
        => BlockedGemm<TK>.Run(in g, ex, budget);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Splitting_k_at_KC_multiples_gives_the_bits_of_one_GEMM(int m, int n, int slices, int extra, bool ta, bool tb, bool bf16)
    {
        var precision = bf16 ? GemmPrecision.Bf16 : GemmPrecision.Fp32;
        int kc = GemmBlocking.Depth(precision);
        int k = slices * kc + extra;
        float[] a = GemmTestSupport.Random(m * k, m), b = GemmTestSupport.Random(k * n, n), c0 = GemmTestSupport.Random(m * n, 3);
        int lda = ta ? m : k, ldb = tb ? k : n;
        using var packed = new PackedOperand(k, n, tb, bf16 ? VectorWidth.Auto : VectorWidth.V512, precision); // V512: the layout of MicroKernel512, run below
        packed.Pack(b, ldb);
        // Budgets: everything in one block (no split), one KC slice of all rows (chunks of one slice),
        // two slices, and fewer rows than m even at one slice (the split then still blocks rows).
        long[] budgets = [1L << 40, (m + 6L) * kc, (m + 6L) * 2 * kc, 6L * kc];
        foreach (float beta in new[] { 0f, 0.5f })
        {
            float[]? expected = null;
            foreach (long budget in budgets)
                foreach (bool usePacked in new[] { false, true })
                    foreach (var ex in new Crystalline.Hpc.Scheduling.ISphereExecutor?[] { null, new ThreadedTestExecutor(2) })
                    {
                        float[] c = (float[])c0.Clone();
                        fixed (float* pa = a, pb = b, pc = c)
                        {
                            var g = new GemmArgs(ta, tb, m, n, k, 0.75f, pa, lda, usePacked ? null : pb, ldb, beta, pc, n)
                            {
                                PackedB = usePacked ? packed.Data : null,
                                PackedNPad = usePacked ? packed.PaddedColumns : 0,
                            };
                            if (bf16) Run<MicroKernelBf16>(in g, budget, ex);
                            else Run<MicroKernel512>(in g, budget, ex);
                        }
                        expected ??= c;
                        Assert.True(expected.AsSpan().SequenceEqual(c), $"budget {budget}, packed {usePacked}, executor {ex is not null}, β {beta}");
                    }
        }
    }

    [Fact]
    public void A_long_k_with_many_rows_is_split_and_still_equals_the_sum()
    {
        // Not only self-consistent: the split product is the product (double reference, fp32 tolerance).
        int kc = GemmBlocking.KC, m = 30, n = 20, k = 5 * kc + 3;
        float[] a = GemmTestSupport.Random(m * k, 1), b = GemmTestSupport.Random(k * n, 2), c0 = GemmTestSupport.Random(m * n, 4), c = (float[])c0.Clone();
        fixed (float* pa = a, pb = b, pc = c)
        {
            var g = new GemmArgs(false, false, m, n, k, 1f, pa, k, pb, n, 1f, pc, n);
            BlockedGemm<MicroKernel512>.Run(in g, null, (m + 6L) * kc);
        }
        GemmTestSupport.AssertGemm(false, false, m, n, k, 1f, a, k, b, n, 1f, c0, c, n, "split-k");
    }
}
