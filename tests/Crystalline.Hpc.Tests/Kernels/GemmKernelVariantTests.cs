using Crystalline.Hpc.Kernels.Gemm;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.GemmTestSupport;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>Every micro-kernel shape, dispatched or not, through the blocked driver against the double reference.</summary>
public unsafe class GemmKernelVariantTests
{
    private static void Check<TK>(bool ta, bool tb, int m, int n, int k, float alpha, float beta) where TK : struct, IMicroKernel
    {
        int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
        var a = Random((ta ? k : m) * lda, m + n);
        var b = Random((tb ? n : k) * ldb, k);
        var c0 = Random(m * ldc, 3);
        var c = (float[])c0.Clone();
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
        {
            var g = new GemmArgs(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            BlockedGemm<TK>.Run(in g, null);
        }
        AssertGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, c, ldc, $"{typeof(TK).Name} ta={ta} tb={tb} {m}×{n}×{k}");
    }

    private static void Sweep<TK>() where TK : struct, IMicroKernel
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                Check<TK>(ta, tb, 1, 1, 1, 1f, 0f);
                Check<TK>(ta, tb, 17, 65, 3, 0.5f, 1f);
                Check<TK>(ta, tb, 63, 129, 300, 1f, -0.5f);
            }
    }

    [Fact] public void Kernel_6x64() => Sweep<MicroKernel512>();
    [Fact] public void Kernel_8x48() => Sweep<MicroKernel512x8x48>();
    [Fact] public void Kernel_12x32() => Sweep<MicroKernel512x12x32>();
    [Fact] public void Kernel_14x32() => Sweep<MicroKernel512x14x32>();
    [Fact] public void Kernel_6x16() => Sweep<MicroKernel256>();
    [Fact] public void Kernel_6x8() => Sweep<MicroKernel128>();
}
