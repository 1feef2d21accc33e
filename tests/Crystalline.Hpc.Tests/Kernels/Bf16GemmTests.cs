using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Xunit;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>The bf16 mixed-precision GEMM: rounding, packing, the native tile against its managed emulation, and the whole product.</summary>
public unsafe class Bf16GemmTests
{
    [Theory]
    [InlineData(1.0f, 0x3F80u)]
    [InlineData(-2.0f, 0xC000u)]
    [InlineData(0f, 0x0000u)]
    [InlineData(-0f, 0x8000u)]
    [InlineData(float.PositiveInfinity, 0x7F80u)]
    [InlineData(float.NegativeInfinity, 0xFF80u)]
    [InlineData(float.MaxValue, 0x7F80u)] // rounds up past the largest bf16: +∞
    public void Rounds_known_values(float x, uint expectedBits) => Assert.Equal(expectedBits, Bf16.RoundHigh(x) >> 16);

    [Fact]
    public void Ties_go_to_even_and_nan_stays_nan()
    {
        // 1 + 2⁻⁸ lies halfway between bf16 1 (even) and 1 + 2⁻⁷ (odd): ties to 1.
        Assert.Equal(1f, Bf16.Round(1f + MathF.Pow(2, -8)));
        // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ (odd) and 1 + 2·2⁻⁷ (even): ties up.
        Assert.Equal(1f + 2 * MathF.Pow(2, -7), Bf16.Round(1f + 3 * MathF.Pow(2, -8)));
        // Just above a half rounds up.
        Assert.Equal(1f + MathF.Pow(2, -7), Bf16.Round(BitConverter.UInt32BitsToSingle(0x3F80_8001u)));
        // A NaN whose payload sits only in the low bits must not truncate to ∞.
        Assert.True(float.IsNaN(Bf16.Round(BitConverter.UInt32BitsToSingle(0x7F80_0001u))));
        Assert.True(float.IsNaN(Bf16.Round(BitConverter.UInt32BitsToSingle(0xFFFF_FFFFu))));
    }

    [Fact]
    public void Vector_rounding_matches_scalar_on_random_bit_patterns()
    {
        var rng = new Random(3);
        var bits = new uint[4096];
        for (int i = 0; i < bits.Length; i++) bits[i] = (uint)rng.NextInt64(0, 1L << 32);
        bits[0] = 0x7F80_0001u; bits[1] = 0x7F7F_FFFFu; bits[2] = 0x3F80_8000u; bits[3] = 0x3F81_8000u;
        fixed (uint* p = bits)
            for (int i = 0; i < bits.Length; i += 16)
            {
                var v = System.Runtime.Intrinsics.Vector512.Load((float*)p + i);
                var r = Bf16.RoundHigh(v);
                for (int l = 0; l < 16; l++) Assert.Equal(Bf16.RoundHigh(BitConverter.UInt32BitsToSingle(bits[i + l])), r[l]);
            }
    }

    [Fact]
    public void Pair_runs_and_pair_rows_match_the_scalar_pair_for_every_length()
    {
        var rng = new Random(4);
        for (int n = 0; n <= 70; n++)
        {
            float[] x = GemmTestSupport.Random(n + 1, n, 3f), y = GemmTestSupport.Random(n + 1, n + 100, 3f);
            uint[] run = new uint[(n + 1) / 2 + 1], rows = new uint[n + 1], rowsPad = new uint[n + 1];
            fixed (float* px = x, py = y)
            fixed (uint* pr = run, pw = rows, pp = rowsPad)
            {
                Bf16.PairRun(px, n, pr);
                Bf16.PairRows(px, py, n, pw);
                Bf16.PairRows(px, null, n, pp);
            }
            for (int q = 0; q < n / 2; q++) Assert.Equal(Bf16.Pair(x[2 * q], x[2 * q + 1]), run[q]);
            if (n % 2 == 1) Assert.Equal(Bf16.Pair(x[n - 1], 0f), run[n / 2]);
            for (int j = 0; j < n; j++)
            {
                Assert.Equal(Bf16.Pair(x[j], y[j]), rows[j]);
                Assert.Equal(Bf16.Pair(x[j], 0f), rowsPad[j]);
            }
        }
    }

    private static uint[] RandomWords(int count, Random rng)
    {
        var w = new uint[count];
        for (int i = 0; i < count; i++) w[i] = Bf16.Pair((float)(rng.NextDouble() * 2 - 1), (float)(rng.NextDouble() * 2 - 1));
        return w;
    }

    public static TheoryData<int, float, float> TileCases() => new()
    {
        { 0, 1f, 0f }, { 1, 1f, 0f }, { 7, 0.5f, 0f }, { 64, 1f, 1f }, { 129, -1.5f, 0.25f },
    };

    [Theory]
    [MemberData(nameof(TileCases))]
    public void Emulated_tile_vector_and_scalar_paths_agree_bitwise(int kpairs, float alpha, float beta)
    {
        var rng = new Random(kpairs + 7);
        uint[] a = RandomWords(6 * kpairs + 1, rng), b = RandomWords(64 * kpairs + 1, rng);
        float[] c0 = GemmTestSupport.Random(6 * 70, kpairs), cv = (float[])c0.Clone(), cs = (float[])c0.Clone();
        fixed (uint* pa = a, pb = b)
        fixed (float* pv = cv, ps = cs)
        {
            Bf16Emulation.TileVector512(kpairs, pa, pb, pv, 70, alpha, beta);
            Bf16Emulation.TileScalar(kpairs, pa, pb, ps, 70, alpha, beta);
        }
        Assert.Equal(cs, cv);
    }

    [Theory]
    [MemberData(nameof(TileCases))]
    public void Native_tile_matches_the_emulation_bitwise(int kpairs, float alpha, float beta)
    {
        if (!Bf16Native.Available)
        {
            // Where the CPU has the instruction and the library is built, the native tile must be in use.
            bool cpuHasIt = File.Exists("/proc/cpuinfo") && File.ReadAllText("/proc/cpuinfo").Contains(" avx512_bf16", StringComparison.Ordinal);
            bool libraryBuilt = File.Exists(Path.Combine(AppContext.BaseDirectory, "libcrystalline_native.so"));
            Assert.False(cpuHasIt && libraryBuilt && Environment.GetEnvironmentVariable("CRYSTALLINE_NO_NATIVE") is null,
                $"the native bf16 tile is unavailable on a CPU with AVX512_BF16: {Bf16Native.Reason}");
            return;
        }
        var rng = new Random(kpairs + 11);
        uint[] a = RandomWords(6 * kpairs + 1, rng), b = RandomWords(64 * kpairs + 1, rng);
        float[] c0 = GemmTestSupport.Random(6 * 70, kpairs + 1), cn = (float[])c0.Clone(), ce = (float[])c0.Clone();
        fixed (uint* pa = a, pb = b)
        fixed (float* pn = cn, pe = ce)
        {
            Bf16Native.Tile(kpairs, pa, pb, pn, 70, alpha, beta);
            Bf16Emulation.Tile(kpairs, pa, pb, pe, 70, alpha, beta);
        }
        Assert.Equal(ce, cn);
    }

    public static TheoryData<bool, bool, int, int, int> Shapes()
    {
        int kc = GemmBlocking.Depth(GemmPrecision.Bf16);
        var data = new TheoryData<bool, bool, int, int, int>();
        foreach (var (m, n, k) in new[] { (1, 1, 1), (6, 64, 2), (7, 65, 3), (13, 130, kc + 17), (64, 200, 2 * kc), (5, 70, kc - 1), (30, 129, 64) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(ta, tb, m, n, k);
        return data;
    }

    /// <summary>Against α·Σ bf16(a)·bf16(b) + β·c0 in double: the only error left is fp32 accumulation.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Bf16_gemm_is_the_product_of_the_rounded_inputs(bool ta, bool tb, int m, int n, int k)
    {
        float[] a = GemmTestSupport.Random(m * k, m + k), b = GemmTestSupport.Random(k * n, n + k + 1);
        int lda = ta ? m : k, ldb = tb ? k : n, ldc = n + 3;
        float[] ar = Array.ConvertAll(a, Bf16.Round), br = Array.ConvertAll(b, Bf16.Round);
        foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f), (-2f, 0.25f) })
        {
            float[] c0 = GemmTestSupport.Random(m * ldc, m * n + 5), c = (float[])c0.Clone();
            Sgemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, null, VectorWidth.Auto, GemmPrecision.Bf16);
            GemmTestSupport.AssertGemm(ta, tb, m, n, k, alpha, ar, lda, br, ldb, beta, c0, c, ldc, $"bf16 {m}x{n}x{k} ta={ta} tb={tb} α={alpha} β={beta}");
        }
    }

    [Fact]
    public void Bf16_gemm_approximates_the_fp32_product_to_bf16_accuracy()
    {
        int m = 24, n = 96, k = 300;
        float[] a = GemmTestSupport.Random(m * k, 1), b = GemmTestSupport.Random(k * n, 2);
        float[] c = new float[m * n];
        Sgemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, null, VectorWidth.Auto, GemmPrecision.Bf16);
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0, mag = 0;
                for (int p = 0; p < k; p++) { sum += (double)a[i * k + p] * b[p * n + j]; mag += Math.Abs((double)a[i * k + p] * b[p * n + j]); }
                worst = Math.Max(worst, Math.Abs(c[i * n + j] - sum) / mag);
            }
        // Each product carries at most 2·2⁻⁹ relative rounding from its two inputs.
        Assert.InRange(worst, 1e-6, 2 * Math.Pow(2, -9));
    }

    [Fact]
    public void Bf16_gemm_is_bitwise_the_same_for_any_worker_count()
    {
        int m = 50, n = 700, k = GemmBlocking.Depth(GemmPrecision.Bf16) + 40;
        float[] a = GemmTestSupport.Random(m * k, 8), b = GemmTestSupport.Random(n * k, 9);
        float[] one = new float[m * n];
        Sgemm.Multiply(false, true, m, n, k, 1f, a, k, b, k, 0f, one, n, null, VectorWidth.Auto, GemmPrecision.Bf16);
        foreach (var ex in new Crystalline.Hpc.Scheduling.ISphereExecutor[] { new ThreadedTestExecutor(2), new ThreadedTestExecutor(3), new ReverseOrderExecutor(5) })
        {
            float[] many = new float[m * n];
            Sgemm.Multiply(false, true, m, n, k, 1f, a, k, b, k, 0f, many, n, ex, VectorWidth.Auto, GemmPrecision.Bf16);
            Assert.Equal(one, many);
        }
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void Packed_bf16_operand_gives_the_same_bits_including_split_k(bool ta, bool tb)
    {
        int kc = GemmBlocking.Depth(GemmPrecision.Bf16), m = 9, n = 150, k = 2 * kc + 7;
        float[] a = GemmTestSupport.Random(m * k, 12), b = GemmTestSupport.Random(k * n, 13);
        int lda = ta ? m : k, ldb = tb ? k : n;
        using var packed = new PackedOperand(k, n, tb, VectorWidth.Auto, GemmPrecision.Bf16);
        packed.Pack(b, ldb);
        float[] expected = GemmTestSupport.Random(m * n, 14), actual = (float[])expected.Clone(), chunked = new float[m * n];
        Sgemm.Multiply(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1f, expected, n, null, VectorWidth.Auto, GemmPrecision.Bf16);
        Sgemm.MultiplyPacked(ta, m, n, k, 0.5f, a, lda, packed, 0, 1f, actual, n);
        Assert.Equal(expected, actual);
        if (ta) return;
        // Chunks of whole KC slices of the packed operand chain to the one-call product (β = 0 first, then 1);
        // the driver's own k split is tested in SplitKGemmTests.
        float[] whole = new float[m * n];
        Sgemm.Multiply(false, tb, m, n, k, 1f, a, lda, b, ldb, 0f, whole, n, null, VectorWidth.Auto, GemmPrecision.Bf16);
        for (int k0 = 0; k0 < k; k0 += kc)
        {
            int kn = Math.Min(kc, k - k0);
            Sgemm.MultiplyPacked(false, m, n, kn, 1f, a.AsSpan(k0), lda, packed, k0, k0 == 0 ? 0f : 1f, chunked, n);
        }
        Assert.Equal(whole, chunked);
    }

    [Fact]
    public void An_unknown_precision_is_refused_before_anything_is_touched()
    {
        float[] a = new float[4], b = new float[4], c = [1, 2, 3, 4];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2, null, VectorWidth.Auto, (GemmPrecision)7));
        Assert.Contains("unknown GEMM precision", e.Message, StringComparison.Ordinal);
        Assert.Equal([1f, 2f, 3f, 4f], c);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedOperand(4, 4, false, VectorWidth.Auto, (GemmPrecision)7));
        var options = new Crystalline.Hpc.Training.TrainerOptions { Model = Crystalline.Hpc.Tests.Training.TrainingTestUtil.Tiny, SeqLen = 4, Precision = (GemmPrecision)7 };
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    [Fact]
    public void The_whole_gemm_on_the_emulated_tile_matches_the_dispatched_one()
    {
        int m = 20, n = 140, k = 333;
        float[] a = GemmTestSupport.Random(m * k, 21), b = GemmTestSupport.Random(k * n, 22);
        float[] dispatched = new float[m * n], emulated = new float[m * n];
        Sgemm.Multiply(false, false, m, n, k, 1f, a, k, b, n, 0f, dispatched, n, null, VectorWidth.Auto, GemmPrecision.Bf16);
        fixed (float* pa = a, pb = b, pc = emulated)
        {
            var args = new GemmArgs(false, false, m, n, k, 1f, pa, k, pb, n, 0f, pc, n);
            BlockedGemm<MicroKernelBf16Emulated>.Run(in args, null);
        }
        Assert.Equal(emulated, dispatched);
    }
}
