using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Training;
using Xunit;
using static Crystalline.Hpc.Tests.Training.TrainingTestUtil;

namespace Crystalline.Hpc.Tests.Training;

/// <summary>
/// The lockstep pass (<see cref="LockstepPass"/>: spheres stage by stage, each weight product shared by all
/// their rows) must give exactly the weights of the epoch in which every sphere runs alone, for either
/// weight-gradient scheme, both precisions, flat and deep plans and any executor.
/// </summary>
public class LockstepTests
{
    // Several column panels per product (Vp 336, 4C 320) and k beyond one KC slice (fc's dinput: k = 4C = 320 > 256
    // where KC is 256; the LM head's dinput: k = 336).
    private static readonly GptConfig Panels = new(MaxSeqLen: 8, VocabSize: 300, PaddedVocabSize: 336, NumLayers: 2, NumHeads: 2, Channels: 80);

    private static byte[] Train(ISphereExecutor exec, TrainerOptions options, int steps, bool lockstep, bool fuse, out double[] losses,
        long sharedPackedABytes = LockstepPass.MaxSharedPackedABytes)
    {
        using var trainer = new Trainer(options, exec, fuseWeightGradients: fuse, lockstep: lockstep, lockstepSharedPackedABytes: sharedPackedABytes);
        Assert.Equal(lockstep, trainer.RunsInLockstep);
        int V = options.Model.VocabSize, n = options.BatchSize * options.SeqLen;
        losses = new double[steps + 1];
        for (int s = 0; s < steps; s++)
            losses[s] = trainer.Step(Tokens(n, V, (ulong)(500 + s)), Tokens(n, V, (ulong)(600 + s))).Loss;
        losses[steps] = trainer.Evaluate(Tokens(n, V, 7), Tokens(n, V, 8));
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(trainer.Parameters.All).ToArray();
    }

    [Theory]
    [InlineData(4, 8, 1, true, false)]   // gpt2's B=4 layout: four spheres of one row
    [InlineData(13, 5, 1, true, false)]  // sphere 0 holds two rows
    [InlineData(13, 5, 1, false, false)] // per-sphere weight gradients, made in the stages after each product
    [InlineData(26, 3, 2, true, false)]  // depth 2
    [InlineData(4, 8, 1, true, true)]    // bf16
    [InlineData(13, 5, 1, false, true)]
    public void Lockstep_gives_the_bits_of_spheres_run_alone(int B, int T, int depth, bool fuse, bool bf16)
    {
        TrainerOptions options = Options(B, T, depth, Panels) with { Precision = bf16 ? GemmPrecision.Bf16 : GemmPrecision.Fp32 };
        byte[] alone = Train(new SequentialExecutor(depth), options, 3, lockstep: false, fuse, out double[] aloneLosses);
        Assert.Equal(alone, Train(new SequentialExecutor(depth), options, 3, lockstep: true, fuse, out double[] losses));
        Assert.Equal(aloneLosses, losses);
        Assert.Equal(alone, Train(new PoolExecutor(depth, 3), options, 3, lockstep: true, fuse, out losses));
        Assert.Equal(aloneLosses, losses);
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = depth, SpinRounds = 50 });
        Assert.Equal(alone, Train(cp, options, 3, lockstep: true, fuse, out losses));
        Assert.Equal(aloneLosses, losses);
        // Every column item packing A itself (no stage packs a shared A), and a limit that lets only the products of
        // the narrowest A (K = C) share one: the same bits.
        foreach (long limit in new long[] { 0, 32 * 1024 })
        {
            Assert.Equal(alone, Train(cp, options, 3, lockstep: true, fuse, out losses, limit));
            Assert.Equal(aloneLosses, losses);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Lockstep_counts_stage_runs_and_steals_per_sphere_and_product_time(bool stealing)
    {
        TrainerOptions options = Options(4, 8, 1, Panels);
        int n = options.BatchSize * options.SeqLen, V = Panels.VocabSize;
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50, EnableWorkStealing = stealing });
        using var trainer = new Trainer(options, cp, lockstep: true);
        trainer.Step(Tokens(n, V, 1), Tokens(n, V, 2));
        trainer.ResetStatistics();
        Assert.Equal(0, trainer.LockstepStatistics.ProductTicks);
        const int steps = 3;
        for (int i = 0; i < steps; i++) trainer.Step(Tokens(n, V, (ulong)(3 + i)), Tokens(n, V, (ulong)(9 + i)));
        int stages = StepProgram.Forward(Panels.NumLayers).Count(op => !op.IsProduct) + StepProgram.Backward(Panels.NumLayers).Count(op => !op.IsProduct);
        foreach (int s in trainer.ActiveSpheres)
        {
            Assert.Equal(steps * stages, trainer.LockstepStatistics.StageRuns[s]);
            long steals = trainer.LockstepStatistics.StageSteals[s];
            Assert.InRange(steals, 0, stealing ? steps * stages : 0); // without stealing every stage item runs on its owner
        }
        Assert.True(trainer.LockstepStatistics.ProductTicks > 0);
    }

    [Fact]
    public void Stages_pack_the_next_products_A_once_within_the_limit()
    {
        TrainerOptions options = Options(4, 8, 1, Panels);
        int n = options.BatchSize * options.SeqLen, V = Panels.VocabSize;
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        long Bytes(long limit)
        {
            using var trainer = new Trainer(options, cp, lockstep: true, lockstepSharedPackedABytes: limit);
            trainer.Step(Tokens(n, V, 1), Tokens(n, V, 2));
            return trainer.LockstepSharedPackedABytes;
        }
        // Four spheres of 8 rows, each rounded up to 12 (MR = 6): 48 row slots; the widest A is the LM head's dinput (K = Vp = 336).
        int mr = SgemmDriver.PanelRows(Crystalline.Hpc.Kernels.KernelDispatch.Resolve(Crystalline.Hpc.Kernels.VectorWidth.Auto), GemmPrecision.Fp32);
        long slots = 4 * ((8 + mr - 1) / mr * mr);
        Assert.Equal(slots * Panels.PaddedVocabSize * sizeof(float), Bytes(LockstepPass.MaxSharedPackedABytes));
        Assert.Equal(slots * Panels.Channels * sizeof(float), Bytes(32 * 1024)); // only K = C fits
        Assert.Equal(0, Bytes(0));
    }

    [Fact]
    public void Lockstep_weights_are_bitwise_identical_across_worker_counts()
    {
        TrainerOptions options = Options(13, 5, 1, Panels);
        byte[] reference = Train(new SequentialExecutor(1), options, 5, lockstep: true, fuse: true, out _);
        foreach (int workers in new[] { 2, 3, 4, 12 })
        {
            using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = 1, SpinRounds = 50 });
            Assert.Equal(reference, Train(cp, options, 5, lockstep: true, fuse: true, out _));
        }
    }

    [Fact]
    public void Steady_state_lockstep_step_allocates_nothing_on_any_thread()
    {
        const int B = 4, T = 8;
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        var probe = new TrainerTests.AllocationProbe(cp);
        using var tr = new Trainer(Options(B, T, 1, Panels), probe, lockstep: true);
        Assert.True(tr.RunsInLockstep);
        int[] inp = Tokens(B * T, Panels.VocabSize, 1), tgt = Tokens(B * T, Panels.VocabSize, 2);
        tr.Step(inp, tgt); tr.Step(inp, tgt);
        Interlocked.Exchange(ref probe.Allocated, 0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) tr.Step(inp, tgt);
        tr.Evaluate(inp, tgt);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0, Interlocked.Read(ref probe.Allocated));
    }

    [Fact]
    public void Lockstep_gradients_equal_the_double_reference()
    {
        const int B = 4, T = 6;
        double[] pd = Crystalline.Hpc.Tests.Model.ReferenceGptTests.RandomParameters(Panels, 35);
        using var weights = FloatParameters(Panels, pd);
        for (int i = 0; i < pd.Length; i++) pd[i] = weights.All[i];
        int[] inp = Tokens(B * T, Panels.VocabSize, 3), tgt = Tokens(B * T, Panels.VocabSize, 4);
        var gref = new double[pd.Length];
        double lref = ReferenceGpt<double>.Run(Panels, pd, inp, tgt, B, T, gref);
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        using var trainer = new Trainer(Options(B, T, 1, Panels), cp, weights, lockstep: true);
        Assert.True(trainer.RunsInLockstep);
        double loss = trainer.ComputeGradients(inp, tgt);
        AssertMatchesReference(trainer, loss, lref, gref);
    }

    [Fact]
    public void The_default_runs_in_lockstep_where_several_spheres_hold_few_rows_of_a_large_model()
    {
        // 2 layers of C = 512 and a 512-token vocabulary: 12·C²·2 + 512·C floats = 26 MB of weight matrices.
        var large = new GptConfig(MaxSeqLen: 8, VocabSize: 500, PaddedVocabSize: 512, NumLayers: 2, NumHeads: 4, Channels: 512);
        Assert.True((12L * 512 * 512 * 2 + 512 * 512) * 4 >= Trainer.MinMatrixBytesForLockstep);
        using (var several = new Trainer(Options(4, 8, 1, large), new SequentialExecutor(1)))
        {
            Assert.True(several.RunsInLockstep); // several spheres of few rows
            Assert.False(several.PrepacksWeights); // lockstep packs the weights where it uses them: no packed copies
        }
        using (var one = new Trainer(Options(1, 8, 1, large), new SequentialExecutor(1)))
            Assert.False(one.RunsInLockstep); // one sphere: nothing to share
        using (var legacy = new Trainer(Options(4, 8, 1, large), new SequentialExecutor(1), legacyGradientZeroing: true))
            Assert.False(legacy.RunsInLockstep);
        var longRows = large with { MaxSeqLen = 129 };
        using (var many = new Trainer(Options(2, 129, 1, longRows), new SequentialExecutor(1)))
            Assert.False(many.RunsInLockstep); // 129 rows per sphere: its own products are efficient
        // A small model's weights stay in cache: the sphere-by-sphere epoch (with packed copies) is the default.
        using (var small = new Trainer(Options(4, 8, 1, Panels), new SequentialExecutor(1)))
        {
            Assert.False(small.RunsInLockstep);
            Assert.True(small.PrepacksWeights);
        }
        using (var forced = new Trainer(Options(4, 8, 1, Panels), new SequentialExecutor(1), lockstep: true))
            Assert.True(forced.RunsInLockstep);
    }

    [Theory]
    [InlineData(768, 64, 2)]    // C: two items per worker
    [InlineData(768, 64, 1)]    // one worker: one item within an NC block
    [InlineData(2304, 64, 2)]   // 3C: items bounded by NC, rounded up to a multiple of the workers
    [InlineData(50304, 64, 2)]  // the LM head
    [InlineData(40, 64, 4)]     // fewer panels than workers
    public void Column_items_are_whole_panels_within_one_block_in_equal_shares(int n, int nr, int workers)
    {
        int columns = LockstepPass.ColumnsPerItem(n, nr, GemmPrecision.Fp32, workers);
        int block = Math.Max(nr, GemmBlocking.NC / nr * nr), panels = (n + nr - 1) / nr;
        Assert.Equal(0, columns % nr);
        Assert.True(columns <= block);
        int items = (n + columns - 1) / columns;
        Assert.True(items * columns >= n && (items - 1) * columns < n); // covers n, no empty item
        // As few items as the block allows, but at least ItemsPerWorker per worker, in whole rounds of the workers.
        int wanted = Math.Max((panels * nr + block - 1) / block, LockstepPass.ItemsPerWorker * workers);
        Assert.True(items >= Math.Min(panels, wanted));
        if (panels >= workers) Assert.True(items % workers == 0 || items == panels, $"{items} items on {workers} workers");
    }

    [Fact]
    public void The_program_walks_every_layer_down_and_back()
    {
        StepOp[] fwd = StepProgram.Forward(3), bwd = StepProgram.Backward(3);
        Assert.Equal(1 + 3 * 8 + 3, fwd.Length);
        Assert.Equal(3 + 3 * 8 + 1, bwd.Length);
        // Each matrix of each layer is multiplied once forward and once backward.
        foreach (var ops in new[] { fwd, bwd })
        {
            var products = ops.Where(o => o.IsProduct).Select(o => (o.Matrix, o.Layer)).ToList();
            Assert.Equal(4 * 3 + 1, products.Distinct().Count());
            Assert.Equal(products.Count, products.Distinct().Count());
        }
        // The backward visits layers from the top down.
        var layers = bwd.Where(o => o.IsProduct && o.Matrix != ParameterTensor.Wte).Select(o => o.Layer).ToArray();
        Assert.Equal(layers.OrderByDescending(l => l).ToArray(), layers);
    }
}
