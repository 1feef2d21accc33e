using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.GemmTestSupport;

namespace Crystalline.Hpc.Tests.Kernels;

public class SgemmTests
{
    public static TheoryData<VectorWidth> Widths()
    {
        var d = new TheoryData<VectorWidth>();
        foreach (var w in KernelDispatch.Supported) d.Add(w);
        return d;
    }

    private static readonly int[] Sizes = [1, 3, 17, 63, 65];

    private static void Check(VectorWidth w, bool ta, bool tb, int m, int n, int k, float alpha, float beta,
        int padA = 0, int padB = 0, int padC = 0, int seed = 1)
    {
        int lda = (ta ? m : k) + padA, ldb = (tb ? k : n) + padB, ldc = n + padC;
        lda = Math.Max(1, lda); ldb = Math.Max(1, ldb); ldc = Math.Max(1, ldc);
        var a = Random(Math.Max(1, (ta ? k : m) * lda), seed);
        var b = Random(Math.Max(1, (tb ? n : k) * ldb), seed + 1);
        var c0 = Random(Math.Max(1, m * ldc + 5), seed + 2);
        var c = (float[])c0.Clone();
        Sgemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, w);
        AssertGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, c, ldc,
            $"{w} ta={ta} tb={tb} m={m} n={n} k={k} α={alpha} β={beta} pads={padA},{padB},{padC}");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Awkward_shapes_all_transposes(VectorWidth w)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (int m in Sizes)
                    foreach (int n in Sizes)
                        foreach (int k in new[] { 1, 17, 65 })
                            Check(w, ta, tb, m, n, k, 1f, 0f, seed: m * 1000 + n * 10 + k);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Alpha_beta_and_leading_dimensions(VectorWidth w)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                Check(w, ta, tb, 17, 63, 33, 0.5f, 1f, padA: 3, padB: 5, padC: 7);
                Check(w, ta, tb, 65, 17, 3, -2f, 0.25f, padA: 1, padB: 0, padC: 2);
                Check(w, ta, tb, 7, 130, 300, 1.5f, -1f, padA: 9, padB: 11, padC: 13);
            }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Large_awkward_shapes_cross_every_block_boundary(VectorWidth w)
    {
        // 767/769 cross NC and MR/NR edges; K = 600 crosses the KC slice.
        Check(w, false, true, 13, 769, 600, 1f, 0f, seed: 5);
        Check(w, false, false, 767, 65, 257, 1f, 1f, padC: 3, seed: 6);
        Check(w, true, false, 63, 767, 129, 0.75f, 0.5f, seed: 7);
        Check(w, true, true, 1600, 17, 40, 1f, 0f, seed: 8);
        Check(w, false, false, 700, 17, 3100, 1f, 0.5f, seed: 9); // M·K exceeds the packed-A budget: two row blocks
    }

    [Fact]
    public void Beta_zero_ignores_nan_in_c_and_alpha_zero_ignores_a_and_b()
    {
        foreach (var w in KernelDispatch.Supported)
        {
            var a = Random(20 * 30, 1);
            var b = Random(30 * 40, 2);
            var c = new float[20 * 40];
            Array.Fill(c, float.NaN);
            Sgemm.Multiply(false, false, 20, 40, 30, 1f, a, 30, b, 40, 0f, c, 40, w);
            Assert.All(c, v => Assert.False(float.IsNaN(v)));

            var an = new float[20 * 30];
            Array.Fill(an, float.NaN);
            var c2 = Random(20 * 40, 3);
            var expected = c2.Select(v => v * 2f).ToArray();
            Sgemm.Multiply(false, false, 20, 40, 30, 0f, an, 30, b, 40, 2f, c2, 40, w);
            Assert.Equal(expected, c2);
        }
    }

    [Fact]
    public void Nan_in_a_propagates_to_its_row()
    {
        var a = Random(8 * 16, 1);
        a[3 * 16 + 5] = float.NaN;
        var b = Random(16 * 70, 2);
        var c = new float[8 * 70];
        Sgemm.Multiply(false, false, 8, 70, 16, 1f, a, 16, b, 70, 0f, c, 70);
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 70; j++)
                Assert.Equal(i == 3, float.IsNaN(c[i * 70 + j]));
    }

    [Fact]
    public void K_zero_scales_c_and_empty_shapes_do_nothing()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Sgemm.Multiply(false, false, 2, 2, 0, 1f, [], 1, [], 2, 3f, c, 2);
        Assert.Equal(new float[] { 3, 6, 9, 12 }, c);
        Sgemm.Multiply(false, false, 0, 5, 7, 1f, [], 7, new float[35], 5, 0f, Span<float>.Empty, 5);
    }

    [Fact]
    public void Result_is_bitwise_independent_of_worker_count()
    {
        foreach (var w in KernelDispatch.Supported.Where(x => x != VectorWidth.Scalar))
            foreach (var (ta, tb, m, n, k) in new[] { (false, true, 70, 1000, 300), (true, false, 129, 517, 260), (false, false, 33, 2000, 65), (true, true, 1700, 130, 20), (false, true, 700, 130, 3100) })
            {
                var a = Random(m * k, 11);
                var b = Random(k * n, 12);
                var c0 = Random(m * n, 13);
                var single = (float[])c0.Clone();
                Sgemm.Multiply(ta, tb, m, n, k, 1.25f, a, ta ? m : k, b, tb ? k : n, 0.5f, single, n, null, w);
                foreach (var ex in new Crystalline.Hpc.Scheduling.ISphereExecutor[]
                         { new ThreadedTestExecutor(2), new ThreadedTestExecutor(3), new ReverseOrderExecutor(5) })
                {
                    var multi = (float[])c0.Clone();
                    Sgemm.Multiply(ta, tb, m, n, k, 1.25f, a, ta ? m : k, b, tb ? k : n, 0.5f, multi, n, ex, w);
                    Assert.Equal(single, multi);
                }
            }
    }

    [Fact]
    public void Bad_shapes_throw_and_write_nothing()
    {
        var a = new float[12];
        var b = new float[12];
        var c = new float[9];
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, -1, 3, 4, 1f, a, 4, b, 3, 0f, c, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, 3, 3, -4, 1f, a, 4, b, 3, 0f, c, 3));
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 3, 3, 4, 1f, a, 3, b, 3, 0f, c, 3));   // lda < K
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 3, 3, 4, 1f, a.AsSpan(1), 4, b, 3, 0f, c, 3)); // A short
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 3, 3, 4, 1f, a, 4, b.AsSpan(0, 11), 3, 0f, c, 3));
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 3, 3, 4, 1f, a, 4, b, 3, 0f, c.AsSpan(0, 8), 3)); // C short
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 3, 3, 4, 1f, a, 4, b, 3, 0f, c, 2));   // ldc < N
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(true, false, 3, 3, 4, 1f, a, 2, b, 3, 0f, c, 3));    // lda < M for Aᵀ
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, true, 3, 3, 4, 1f, a, 4, b, 3, 0f, c, 3));    // ldb < K for Bᵀ
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, 3, 3, 4, 1f, a, 4, b, 3, 0f, c, 3, (VectorWidth)7));
        Assert.All(c, v => Assert.Equal(0f, v));
    }
}
