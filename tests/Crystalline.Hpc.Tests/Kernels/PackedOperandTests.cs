using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Xunit;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>A GEMM given a pre-packed B must compute the same bits as one that packs B itself.</summary>
public class PackedOperandTests
{
    public static TheoryData<VectorWidth, int, int, int, bool, bool> Cases()
    {
        var data = new TheoryData<VectorWidth, int, int, int, bool, bool>();
        int kc = GemmBlocking.KC;
        foreach (VectorWidth w in KernelDispatch.Supported)
        {
            if (w == VectorWidth.Scalar) continue;
            foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 70, 33), (64, 130, kc + 17), (13, 256, 2 * kc), (6, 64, kc - 1) })
            {
                data.Add(w, m, n, k, false, true);
                data.Add(w, m, n, k, true, false);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Packed_B_gives_the_same_bits(VectorWidth width, int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        float[] a = Fill(rng, m * k), b = Fill(rng, k * n), c0 = Fill(rng, m * n);
        int lda = transA ? m : k, ldb = transB ? k : n;
        using var packed = new PackedOperand(k, n, transB, width);
        packed.Pack(b, ldb);
        foreach (float beta in new[] { 0f, 1f })
        {
            foreach (float alpha in new[] { 1f, 0.5f })
            {
                float[] expected = (float[])c0.Clone(), actual = (float[])c0.Clone();
                Sgemm.Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, n, width);
                Sgemm.MultiplyPacked(transA, m, n, k, alpha, a, lda, packed, 0, beta, actual, n);
                Assert.Equal(expected, actual);
            }
        }
    }

    [Fact]
    public void Split_k_chunks_of_a_packed_operand_chain_to_the_whole_product()
    {
        int kc = GemmBlocking.KC, m = 9, n = 100, k = 3 * kc + 5;
        var rng = new Random(5);
        float[] a = Fill(rng, m * k), b = Fill(rng, k * n);
        float[] expected = new float[m * n], actual = new float[m * n];
        Sgemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
        using var packed = new PackedOperand(k, n, transB: false);
        packed.Pack(b, n);
        // Chunks of two slices, then the rest: the first overwrites (β = 0), the others add.
        for (int k0 = 0; k0 < k; k0 += 2 * kc)
        {
            int kn = Math.Min(2 * kc, k - k0);
            Sgemm.MultiplyPacked(false, m, n, kn, 1f, a.AsSpan(k0), k, packed, k0, k0 == 0 ? 0f : 1f, actual, n);
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Packing_in_parallel_gives_the_same_layout()
    {
        int n = 64 * 9 + 5, k = GemmBlocking.KC + 3;
        float[] b = Fill(new Random(9), k * n);
        using var one = new PackedOperand(k, n, transB: true);
        using var many = new PackedOperand(k, n, transB: true);
        one.Pack(b, k);
        using (var cp = new Crystalline.Hpc.Scheduling.ControlProcess(new Crystalline.Hpc.Scheduling.ControlProcessOptions { WorkerCount = 3, SpinRounds = 10 }))
            many.Pack(b, k, cp);
        unsafe
        {
            long floats = one.PaddedColumns * k;
            Assert.True(new ReadOnlySpan<float>(one.Data, (int)floats).SequenceEqual(new ReadOnlySpan<float>(many.Data, (int)floats)));
        }
    }

    [Fact]
    public void Mismatched_shapes_are_refused()
    {
        int kc = GemmBlocking.KC;
        using var packed = new PackedOperand(2 * kc, 40, transB: false);
        packed.Pack(new float[2 * kc * 40], 40);
        float[] a = new float[4 * 2 * kc], c = new float[4 * 41];
        Assert.Throws<ArgumentException>(() => Sgemm.MultiplyPacked(false, 4, 41, 2 * kc, 1f, a, 2 * kc, packed, 0, 0f, c, 41)); // n
        Assert.Throws<ArgumentException>(() => Sgemm.MultiplyPacked(false, 4, 40, kc, 1f, a, 2 * kc, packed, 3, 0f, c, 40)); // not a slice boundary
        Assert.Throws<ArgumentException>(() => Sgemm.MultiplyPacked(false, 4, 40, 2 * kc, 1f, a, 2 * kc, packed, kc, 0f, c, 40)); // past the end
        Assert.Throws<ArgumentException>(() => packed.Pack(new float[10], 40)); // too short
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedOperand(0, 4, false));
        Assert.Throws<NotSupportedException>(() => new PackedOperand(4, 4, false, VectorWidth.Scalar));
    }

    private static float[] Fill(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
