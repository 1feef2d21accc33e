using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Training;
using Xunit;
using static Crystalline.Hpc.Tests.Training.TrainingTestUtil;

namespace Crystalline.Hpc.Tests.Training;

/// <summary>
/// <see cref="FusedWeightGradients"/> must give exactly the bits of the per-sphere scheme (every sphere
/// writes its whole gradient, the reduction adds the buffers in plan order) for flat and deeper plans,
/// several row blocks per matrix, k beyond one KC slice, both precisions and any executor.
/// </summary>
public class FusedWeightGradientTests
{
    // Matrices of 96 (qkv), 32, 128 (fc) and 112 (wte) rows: several 48-row blocks, the last ones partial.
    private static readonly GptConfig Wide = new(MaxSeqLen: 16, VocabSize: 100, PaddedVocabSize: 112, NumLayers: 2, NumHeads: 2, Channels: 32);

    private static TrainerOptions WideOptions(int B, int T, int depth, GemmPrecision precision, GptConfig? model = null) =>
        Options(B, T, depth, model ?? Wide) with { Precision = precision, TotalSteps = 20 };

    private static byte[] Train(ISphereExecutor exec, TrainerOptions options, int steps, bool fuse)
    {
        using var trainer = new Trainer(options, exec, fuseWeightGradients: fuse);
        Assert.Equal(fuse, trainer.FusesWeightGradients);
        int V = options.Model.VocabSize, n = options.BatchSize * options.SeqLen;
        for (int s = 0; s < steps; s++)
            trainer.Step(Tokens(n, V, (ulong)(300 + s)), Tokens(n, V, (ulong)(400 + s)));
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(trainer.Parameters.All).ToArray();
    }

    [Theory]
    [InlineData(13, 6, 1, false)] // flat plan; sphere 0 holds two rows
    [InlineData(26, 5, 2, false)] // depth 2: a two-level tree, partial sums held in slots
    [InlineData(1, 8, 1, false)]  // one sphere: no additions at all
    [InlineData(3, 7, 0, false)]  // depth 0: one sphere with every row
    [InlineData(13, 6, 1, true)]
    [InlineData(26, 5, 2, true)]
    public void Fused_weight_gradients_give_the_bits_of_the_per_sphere_reduction(int B, int T, int depth, bool bf16)
    {
        TrainerOptions options = WideOptions(B, T, depth, bf16 ? GemmPrecision.Bf16 : GemmPrecision.Fp32);
        byte[] perSphere = Train(new SequentialExecutor(depth), options, 4, fuse: false);
        Assert.Equal(perSphere, Train(new SequentialExecutor(depth), options, 4, fuse: true));
        Assert.Equal(perSphere, Train(new PoolExecutor(depth, 3), options, 4, fuse: true));
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = depth, SpinRounds = 50 });
        Assert.Equal(perSphere, Train(cp, options, 4, fuse: true));
    }

    [Theory]
    [InlineData(13, 6, 1)]
    [InlineData(26, 5, 2)]
    public void The_fused_pass_sums_the_norm_as_the_reduction_does(int B, int T, int depth)
    {
        // The fused pass sums each block's squares in cache; the per-sphere scheme's reduction sums the same items'
        // squares: the global norm, hence the clipping factor, must be the same bits. A tiny clip keeps it active.
        TrainerOptions options = WideOptions(B, T, depth, GemmPrecision.Fp32) with { GradClip = 1e-3f };
        var norms = new List<double>[2];
        var weights = new byte[2][];
        for (int v = 0; v < 2; v++)
        {
            using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = depth, SpinRounds = 50 });
            using var trainer = new Trainer(options, cp, fuseWeightGradients: v == 1);
            norms[v] = new List<double>();
            int n = B * T;
            for (int s = 0; s < 3; s++)
            {
                StepResult r = trainer.Step(Tokens(n, Wide.VocabSize, (ulong)(700 + s)), Tokens(n, Wide.VocabSize, (ulong)(800 + s)));
                Assert.True(r.GradNorm * r.GradientScale < 1.001e-3); // clipped
                norms[v].Add(r.GradNorm);
            }
            weights[v] = System.Runtime.InteropServices.MemoryMarshal.AsBytes(trainer.Parameters.All).ToArray();
        }
        Assert.Equal(norms[0], norms[1]);
        Assert.Equal(weights[0], weights[1]);
    }

    [Fact]
    public void Fused_weight_gradients_match_when_a_sphere_has_more_tokens_than_one_KC_slice()
    {
        // k = a sphere's tokens: beyond KC the GEMM sums slices (first with β = 0, then β = 1) and the
        // fused block must do the same before its block is added to the others.
        int T = GemmBlocking.KC + 40;
        var model = Wide with { MaxSeqLen = T };
        TrainerOptions options = WideOptions(3, T, 1, GemmPrecision.Fp32, model);
        byte[] perSphere = Train(new SequentialExecutor(1), options, 2, fuse: false);
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        Assert.Equal(perSphere, Train(cp, options, 2, fuse: true));
    }

    [Fact]
    public void Fused_gradients_equal_the_double_reference()
    {
        const int B = 13, T = 6;
        double[] pd = Crystalline.Hpc.Tests.Model.ReferenceGptTests.RandomParameters(Wide, 33);
        using var weights = FloatParameters(Wide, pd);
        for (int i = 0; i < pd.Length; i++) pd[i] = weights.All[i];
        int[] inp = Tokens(B * T, Wide.VocabSize, 3), tgt = Tokens(B * T, Wide.VocabSize, 4);
        var gref = new double[pd.Length];
        double lref = ReferenceGpt<double>.Run(Wide, pd, inp, tgt, B, T, gref);
        using var trainer = new Trainer(Options(B, T, 1, Wide), new PoolExecutor(1, 2), weights);
        Assert.True(trainer.FusesWeightGradients);
        double loss = trainer.ComputeGradients(inp, tgt);
        AssertMatchesReference(trainer, loss, lref, gref);
    }

    [Theory]
    // The root's sum takes one slot (it is stored to the buffer once, at the end); then:
    [InlineData(13, 1, 2)] // flat: each sphere's block is added to the root's as soon as it is made
    [InlineData(26, 2, 3)] // depth 2: a parent's partial sum waits in a slot while its children are added
    [InlineData(1, 1, 1)]  // one sphere: its block alone
    public void Each_thread_holds_only_the_slots_the_plan_keeps_alive(int B, int depth, int slots)
    {
        using var trainer = new Trainer(Options(B, 3, depth, Wide), new SequentialExecutor(depth));
        Assert.Equal(slots, trainer.WeightGradientFusion!.SlotsPerThread);
        Assert.Equal(slots * (long)FusedWeightGradients.BlockRows * 4 * Wide.Channels * sizeof(float), trainer.WeightGradientFusion.SlotBytesPerThread);
    }

    [Fact]
    public void The_legacy_and_per_sphere_schemes_do_not_fuse_and_the_default_fuses_only_small_spheres()
    {
        var longRows = Wide with { MaxSeqLen = 129 };
        using var many = new Trainer(Options(2, 129, 1, longRows), new SequentialExecutor(1));
        Assert.False(many.FusesWeightGradients); // 129 tokens in a sphere: its own dW GEMM is the faster one
        using var few = new Trainer(Options(2, 128, 1, longRows), new SequentialExecutor(1));
        Assert.True(few.FusesWeightGradients);
        using var legacy = new Trainer(Options(13, 3, 1), new SequentialExecutor(1), legacyGradientZeroing: true);
        Assert.False(legacy.FusesWeightGradients);
        Assert.False(legacy.Sphere(0)!.DefersWeightGradients);
        using var perSphere = new Trainer(Options(13, 3, 1), new SequentialExecutor(1), fuseWeightGradients: false);
        Assert.False(perSphere.FusesWeightGradients);
        Assert.Equal(0, perSphere.Sphere(0)!.PackedInputBytes);
        using var fused = new Trainer(Options(13, 3, 1), new SequentialExecutor(1));
        Assert.True(fused.FusesWeightGradients); // the default
    }

    [Fact]
    public void Spheres_other_than_the_root_hold_only_the_small_gradients()
    {
        using var trainer = new Trainer(Options(13, 3, 1, Wide), new SequentialExecutor(1));
        var lay = trainer.Parameters.Layout;
        long small = 0;
        foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>()) if (!ParameterLayout.IsLinearWeight(t)) small += lay.Size(t);
        SphereWorkspace root = trainer.Sphere(0)!, other = trainer.Sphere(5)!;
        Assert.False(root.HasCompactGradients);
        Assert.Equal(4L * lay.Count, root.GradientBytes);
        Assert.True(other.HasCompactGradients);
        Assert.Equal(4 * small, other.GradientBytes);
        Assert.True(other.HasGradient(ParameterTensor.Ln1W));
        Assert.False(other.HasGradient(ParameterTensor.QkvW));
        Assert.Throws<InvalidOperationException>(() => { unsafe { _ = other.TensorGradient(ParameterTensor.Wte); } });
        Assert.Throws<InvalidOperationException>(() => { unsafe { _ = other.GradientPointer; } });
        // Deferred but full-size (the root's arrangement) and compact without deferring.
        Assert.Throws<ArgumentException>(() => new SphereWorkspace(0, [0], 3, new ParameterLayout(Tiny), withGradients: true, compactGradients: true));
    }

    [Fact]
    public void Deferring_without_overwriting_gradients_is_refused()
    {
        var lay = new ParameterLayout(Tiny);
        var e = Assert.Throws<ArgumentException>(() => new SphereWorkspace(0, [0], 4, lay, withGradients: true, overwriteGradients: false, deferWeightGradients: true));
        Assert.Contains("overwriteGradients", e.Message);
    }

    [Theory]
    [InlineData(1, 1, 4)]
    [InlineData(3, 5, 7)]
    public void BackwardPositions_adds_exactly_the_position_half_of_Backward(int batch, int T, int C)
    {
        var rng = new Random(batch * 100 + T);
        float[] dout = Enumerable.Range(0, batch * T * C).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        int[] tokens = Enumerable.Range(0, batch * T).Select(i => i % 3).ToArray();
        float[] start = Enumerable.Range(0, (T + 2) * C).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] wpeBoth = (float[])start.Clone(), wpeOnly = (float[])start.Clone(), wte = new float[3 * C];
        Embedding.Backward(wte, wpeBoth, dout, tokens, batch, T, C);
        Embedding.BackwardPositions(wpeOnly, dout, batch, T, C);
        Assert.Equal(wpeBoth, wpeOnly);
        Assert.Throws<ArgumentException>(() => Embedding.BackwardPositions(new float[(T - 1) * C], dout, batch, T, C));
        Assert.Throws<ArgumentException>(() => Embedding.BackwardPositions(wpeOnly, dout.AsSpan(1).ToArray(), batch, T, C));
    }
}
