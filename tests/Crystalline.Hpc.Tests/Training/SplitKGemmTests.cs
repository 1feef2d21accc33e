using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Training;
using Xunit;

namespace Crystalline.Hpc.Tests.Training;

public class SplitKGemmTests
{
    [Theory]
    [InlineData(5, 7, 3, 17, 1L)]          // chunks of one KC slice
    [InlineData(13, 70, 4, 0, 64L * 29)]   // chunk of KC·⌊budget/(m+16)/KC⌋ = 2·KC when KC = 64, else KC
    [InlineData(64, 33, 2, 1, 1L << 40)]   // no split at all
    public void Splitting_k_at_KC_multiples_gives_the_bits_of_one_GEMM(int m, int n, int slices, int extra, long budget)
    {
        int k = slices * GemmBlocking.KC + extra;
        var rng = new Random(m * 1000 + n);
        float[] a = new float[m * k], b = new float[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        float[] expected = new float[m * n], actual = new float[m * n];
        Array.Fill(actual, float.NaN); // β = 0 on the first chunk: old contents must not leak in
        Sgemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
        Sgemm.MultiplySplitK(m, n, k, a, k, b, n, actual, n, budget);
        Assert.Equal(expected, actual);

        // The same chunks over a pre-packed B (the trainer's weights): the same bits again.
        using var packed = new PackedOperand(k, n, transB: false);
        packed.Pack(b, n);
        Array.Fill(actual, float.NaN);
        Sgemm.MultiplySplitKPacked(m, n, k, a, k, packed, actual, n, budget);
        Assert.Equal(expected, actual);
    }
}
