using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Tests.Model;
using Crystalline.Hpc.Training;
using Xunit;
using static Crystalline.Hpc.Tests.Training.TrainingTestUtil;

namespace Crystalline.Hpc.Tests.Training;

public class TrainerTests
{
    [Theory]
    [InlineData(5, 6, 1)]
    [InlineData(13, 4, 1)] // 13 rows: sphere 0 gets two
    [InlineData(14, 3, 2)] // depth 2: 144 leaves, two levels of the tree
    [InlineData(3, 8, 0)]  // depth 0: one sphere holds everything
    public void Parallel_step_equals_the_reference_on_loss_and_every_gradient_tensor(int B, int T, int depth)
    {
        var cfg = Tiny;
        double[] pd = ReferenceGptTests.RandomParameters(cfg, 21);
        using var weights = FloatParameters(cfg, pd);
        for (int i = 0; i < pd.Length; i++) pd[i] = weights.All[i]; // the reference starts from the same float weights
        int[] inp = Tokens(B * T, cfg.VocabSize, 1), tgt = Tokens(B * T, cfg.VocabSize, 2);
        var gref = new double[pd.Length];
        double lref = ReferenceGpt<double>.Run(cfg, pd, inp, tgt, B, T, gref);

        using var trainer = new Trainer(Options(B, T, depth), new PoolExecutor(depth, 2), weights);
        double loss = trainer.ComputeGradients(inp, tgt);
        AssertMatchesReference(trainer, loss, lref, gref);
    }

    [Theory]
    [InlineData(13, 1)]
    [InlineData(26, 2)]
    public void Gradients_after_optimizer_steps_still_equal_the_reference(int B, int depth)
    {
        // The reduction and the optimizer clear the sphere buffers in place of a separate pass; a stale
        // gradient left behind would show up here as a mismatch on the third batch.
        const int T = 4;
        var cfg = Tiny;
        using var trainer = new Trainer(Options(B, T, depth), new PoolExecutor(depth, 3));
        for (int s = 0; s < 2; s++) trainer.Step(Tokens(B * T, cfg.VocabSize, (ulong)(40 + s)), Tokens(B * T, cfg.VocabSize, (ulong)(50 + s)));
        int[] inp = Tokens(B * T, cfg.VocabSize, 60), tgt = Tokens(B * T, cfg.VocabSize, 61);
        double[] pd = new double[trainer.Parameters.Count];
        for (int i = 0; i < pd.Length; i++) pd[i] = trainer.Parameters.All[i];
        var gref = new double[pd.Length];
        double lref = ReferenceGpt<double>.Run(cfg, pd, inp, tgt, B, T, gref);
        double loss = trainer.ComputeGradients(inp, tgt);
        AssertMatchesReference(trainer, loss, lref, gref);
    }

    [Fact]
    public void Rows_are_dealt_round_robin_recursively()
    {
        Assert.Equal(0, Trainer.LeafOfRow(0, 1));
        Assert.Equal(5, Trainer.LeafOfRow(5, 1));
        Assert.Equal(1, Trainer.LeafOfRow(13, 1));
        // depth 2: top group r mod 12, then (r / 12) mod 12 below it.
        Assert.Equal(5 * 12 + 0, Trainer.LeafOfRow(5, 2));
        Assert.Equal(1 * 12 + 1, Trainer.LeafOfRow(13, 2));
        Assert.Equal(0, Trainer.LeafOfRow(144, 2));
        using var trainer = new Trainer(Options(14, 2, 1), new SequentialExecutor(1));
        Assert.Equal(12, trainer.ActiveSpheres.Count);
        Assert.Equal(new[] { 0, 12 }, trainer.Sphere(0)!.Rows);
        using var small = new Trainer(Options(3, 2, 1), new SequentialExecutor(1));
        Assert.Equal(new[] { 0, 1, 2 }, small.ActiveSpheres);
        Assert.Null(small.Sphere(3)); // no rows → no arena, no gradient buffer
    }

    private static byte[] TrainWeights(ISphereExecutor exec, int B, int T, int depth, int steps, bool legacyGradientZeroing = false, bool prepack = true)
    {
        using var trainer = new Trainer(Options(B, T, depth) with { TotalSteps = steps }, exec, legacyGradientZeroing: legacyGradientZeroing, prepackWeights: prepack);
        for (int s = 0; s < steps; s++)
        {
            int[] inp = Tokens(B * T, Tiny.VocabSize, (ulong)(100 + s)), tgt = Tokens(B * T, Tiny.VocabSize, (ulong)(200 + s));
            trainer.Step(inp, tgt);
        }
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(trainer.Parameters.All).ToArray();
    }

    [Fact]
    public void Weights_after_20_steps_are_bitwise_identical_for_1_2_3_4_and_12_threads()
    {
        const int B = 13, T = 6, depth = 1;
        byte[] reference = TrainWeights(new SequentialExecutor(depth), B, T, depth, 20);
        foreach (int threads in new[] { 1, 2, 3, 4, 12 })
        {
            using (var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = threads, HierarchyDepth = depth, SpinRounds = 50 }))
                Assert.Equal(reference, TrainWeights(cp, B, T, depth, 20));
            Assert.Equal(reference, TrainWeights(new PoolExecutor(depth, threads), B, T, depth, 20));
        }
    }

    [Fact]
    public void Weights_after_20_steps_are_bitwise_identical_for_every_thread_allocation_strategy()
    {
        // The strategy moves spheres between workers; the arithmetic is fixed by sphere index (rows,
        // arenas, the reduction tree, the slice order), so not a bit may change. Without stealing each
        // sphere runs on its home worker, so the homes really differ between the strategies here.
        const int B = 13, T = 6, depth = 1;
        byte[] reference = TrainWeights(new SequentialExecutor(depth), B, T, depth, 20);
        var homes = new HashSet<string>();
        foreach (var strategy in Enum.GetValues<ThreadAllocationStrategy>())
            foreach (bool stealing in new[] { false, true })
            {
                using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 3, HierarchyDepth = depth, SpinRounds = 50, EnableWorkStealing = stealing, AllocationStrategy = strategy });
                Assert.Equal(strategy, cp.Allocation.Strategy);
                homes.Add(string.Join(",", Enumerable.Range(0, cp.SphereCount).Select(cp.HomeWorkerOf)));
                Assert.Equal(reference, TrainWeights(cp, B, T, depth, 20));
            }
        Assert.True(homes.Count >= 2, "round robin and block must place the spheres differently");
    }

    [Theory]
    [InlineData(13, 6, 1, 8)]
    [InlineData(26, 3, 2, 4)]
    public void Overwriting_first_gradient_contributions_gives_the_same_bits_as_zero_then_accumulate(int B, int T, int depth, int steps)
    {
        // The fast scheme (β = 0 GEMMs, no zeroing pass, fused reduction) must not change a bit.
        byte[] legacy = TrainWeights(new SequentialExecutor(depth), B, T, depth, steps, legacyGradientZeroing: true);
        AssertDefaultTrainingGives(legacy, B, T, depth, steps, workers: 2);
    }

    /// <summary>The default trainer, sequential and on a control process of <paramref name="workers"/>, ends with <paramref name="expected"/>.</summary>
    private static void AssertDefaultTrainingGives(byte[] expected, int B, int T, int depth, int steps, int workers)
    {
        Assert.Equal(expected, TrainWeights(new SequentialExecutor(depth), B, T, depth, steps));
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = depth, SpinRounds = 50 });
        Assert.Equal(expected, TrainWeights(cp, B, T, depth, steps));
    }

    [Theory]
    [InlineData(13, 6, 1, 6)]
    [InlineData(26, 3, 2, 3)]
    public void Weights_packed_once_per_step_give_the_same_bits_as_packing_in_every_GEMM(int B, int T, int depth, int steps)
    {
        byte[] unpacked = TrainWeights(new SequentialExecutor(depth), B, T, depth, steps, prepack: false);
        AssertDefaultTrainingGives(unpacked, B, T, depth, steps, workers: 3);
    }

    [Fact]
    public void Weights_written_outside_the_optimizer_are_repacked_after_MarkWeightsChanged()
    {
        const int B = 13, T = 6, depth = 1;
        int[] inp = Tokens(B * T, Tiny.VocabSize, 7), tgt = Tokens(B * T, Tiny.VocabSize, 8);
        // The sphere-by-sphere epoch: lockstep packs the weights where it uses them and keeps no copies.
        using var packed = new Trainer(Options(B, T, depth), new SequentialExecutor(depth), lockstep: false);
        using var plain = new Trainer(Options(B, T, depth), new SequentialExecutor(depth), prepackWeights: false, lockstep: false);
        Assert.True(packed.PrepacksWeights);
        Assert.Equal(plain.Evaluate(inp, tgt), packed.Evaluate(inp, tgt));
        foreach (Trainer t in new[] { packed, plain })
        {
            Span<float> all = t.Parameters.All;
            for (int i = 0; i < all.Length; i += 3) all[i] *= 1.5f;
        }
        double stale = packed.Evaluate(inp, tgt); // no MarkWeightsChanged: the packed copies are the old weights
        packed.MarkWeightsChanged();
        double fresh = packed.Evaluate(inp, tgt);
        Assert.Equal(plain.Evaluate(inp, tgt), fresh);
        Assert.NotEqual(fresh, stale);
    }

    [Theory]
    [InlineData(13, 6, 1, true)]    // 12 spheres of 1–2 rows
    [InlineData(1, 6, 1, false)]    // one sphere: nothing to share
    [InlineData(204, 8, 1, false)]  // 17 rows × 8 tokens = 136 > 128 rows per sphere
    public void Weights_are_prepacked_only_for_several_spheres_with_few_rows(int B, int T, int depth, bool expected)
    {
        using var trainer = new Trainer(Options(B, T, depth), new SequentialExecutor(depth), lockstep: false);
        Assert.Equal(expected, trainer.PrepacksWeights);
        using var off = new Trainer(Options(B, T, depth), new SequentialExecutor(depth), prepackWeights: false);
        Assert.False(off.PrepacksWeights);
    }

    [Fact]
    public void Depth_2_weights_are_bitwise_identical_across_worker_counts()
    {
        const int B = 26, T = 3, depth = 2; // rows 0…25: groups 0, 1 get three rows over two levels
        byte[] reference = TrainWeights(new SequentialExecutor(depth), B, T, depth, 5);
        foreach (int threads in new[] { 2, 5 })
        {
            using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = threads, HierarchyDepth = depth, SpinRounds = 50 });
            Assert.Equal(reference, TrainWeights(cp, B, T, depth, 5));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_reduces_the_loss_on_a_learnable_sequence(bool bf16)
    {
        var precision = bf16 ? Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16 : Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Fp32;
        const int B = 4, T = 8;
        using var trainer = new Trainer(Options(B, T) with { TotalSteps = 60, Precision = precision }, new SequentialExecutor(1));
        var inp = new int[B * T]; var tgt = new int[B * T];
        for (int i = 0; i < B * T; i++) { inp[i] = i % Tiny.VocabSize; tgt[i] = (i + 1) % Tiny.VocabSize; }
        double first = trainer.Step(inp, tgt).Loss, last = 0;
        for (int s = 1; s < 60; s++) last = trainer.Step(inp, tgt).Loss;
        Assert.True(last < first * 0.3, $"loss went {first} → {last}");
    }

    [Fact]
    public void Lambda_correction_scales_the_gradient_once_and_off_gives_plain_AdamW()
    {
        const int B = 3, T = 5;
        var cfg = Tiny;
        using var weights = FloatParameters(cfg, ReferenceGptTests.RandomParameters(cfg, 4));
        int[] inp = Tokens(B * T, cfg.VocabSize, 8), tgt = Tokens(B * T, cfg.VocabSize, 9);
        foreach (bool lambda in new[] { false, true })
        {
            var opt = Options(B, T) with { LambdaCorrection = lambda, GradClip = 0, WarmupSteps = 0, LearningRate = 1e-3f };
            using var tr = new Trainer(opt, new SequentialExecutor(1), weights);
            tr.ComputeGradients(inp, tgt);
            float[] g = tr.Gradient.ToArray();
            var r = tr.Step(inp, tgt);
            double factor = lambda ? 1.0 - 3.0 / 144000.0 : 1.0;
            Assert.Equal((float)factor, r.GradientScale);
            var lay = tr.Parameters.Layout;
            foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>())
            {
                float wd = ParameterLayout.IsDecayed(t) ? opt.WeightDecay : 0f;
                for (int i = lay.Offset(t); i < lay.Offset(t) + lay.Size(t); i++)
                {
                    // First AdamW step: m̂ = g', v̂ = g'², so the step is lr·(g'/(|g'| + ε) + wd·θ).
                    double gs = g[i] * factor;
                    double expected = weights.All[i] - r.LearningRate * (gs / (Math.Abs(gs) + opt.Epsilon) + wd * weights.All[i]);
                    Assert.True(Math.Abs(tr.Parameters.All[i] - expected) < 1e-6, $"{ParameterLayout.Name(t)}[{i}]: {tr.Parameters.All[i]} vs {expected}");
                }
            }
        }
    }

    [Fact]
    public void Clipping_bounds_the_scaled_global_norm()
    {
        const int B = 2, T = 4;
        using var tr = new Trainer(Options(B, T) with { GradClip = 1e-3f }, new SequentialExecutor(1));
        var r = tr.Step(Tokens(B * T, 11, 1), Tokens(B * T, 11, 2));
        Assert.True(r.GradNorm > 1e-3);
        Assert.Equal(1e-3, r.GradNorm * r.GradientScale, 6);
    }

    [Theory]
    [InlineData(5, false)]
    [InlineData(13, false)] // 12 spheres: weights pre-packed
    [InlineData(13, true)]
    public void Steady_state_step_allocates_nothing(int B, bool bf16)
    {
        var precision = bf16 ? Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16 : Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Fp32;
        const int T = 6;
        using var tr = new Trainer(Options(B, T) with { Precision = precision }, new SequentialExecutor(1));
        int[] inp = Tokens(B * T, 11, 1), tgt = Tokens(B * T, 11, 2);
        tr.Step(inp, tgt); tr.Step(inp, tgt);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) tr.Step(inp, tgt);
        tr.Evaluate(inp, tgt);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Measures, on whichever thread runs it, the managed bytes each work item allocates.</summary>
    internal sealed class AllocationProbe(ISphereExecutor inner) : ISphereExecutor, ISphereWork, IParallelWork
    {
        private ISphereWork? _sphere;
        private IParallelWork? _items;
        public long Allocated;
        public int WorkerCount => inner.WorkerCount;
        public int SphereCount => inner.SphereCount;
        public void RunEpoch(ISphereWork work) { _sphere = work; inner.RunEpoch(this); }
        public void RunParallel(IParallelWork work, int itemCount) { _items = work; inner.RunParallel(this, itemCount); }
        public void RunOnEachWorker(IParallelWork work) => inner.RunOnEachWorker(work);
        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            long a = GC.GetAllocatedBytesForCurrentThread();
            _sphere!.ExecuteSphere(sphereIndex, workerIndex);
            Interlocked.Add(ref Allocated, GC.GetAllocatedBytesForCurrentThread() - a);
        }
        public void ExecuteItem(int itemIndex, int workerIndex)
        {
            long a = GC.GetAllocatedBytesForCurrentThread();
            _items!.ExecuteItem(itemIndex, workerIndex);
            Interlocked.Add(ref Allocated, GC.GetAllocatedBytesForCurrentThread() - a);
        }
    }

    [Fact]
    public void Steady_state_step_on_the_control_process_allocates_nothing_on_any_thread()
    {
        const int B = 7, T = 6;
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        var probe = new AllocationProbe(cp);
        using var tr = new Trainer(Options(B, T), probe);
        int[] inp = Tokens(B * T, 11, 1), tgt = Tokens(B * T, 11, 2);
        tr.Step(inp, tgt); tr.Step(inp, tgt);
        // No wait for every worker to have run a sphere: the trainer sizes each worker's GEMM scratch
        // up front (RunOnEachWorker), so a worker that steals its first sphere late allocates nothing.
        Interlocked.Exchange(ref probe.Allocated, 0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) tr.Step(inp, tgt);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0, Interlocked.Read(ref probe.Allocated));
    }

    private sealed class ScratchAllocationProbe(int maxInner) : IParallelWork
    {
        public long Allocated;
        public void ExecuteItem(int itemIndex, int workerIndex)
        {
            long a = GC.GetAllocatedBytesForCurrentThread();
            Crystalline.Hpc.Kernels.Gemm.GemmScratch.WarmUp(maxInner);
            Interlocked.Add(ref Allocated, GC.GetAllocatedBytesForCurrentThread() - a);
        }
    }

    [Fact]
    public void Constructing_a_trainer_sizes_every_workers_GEMM_scratch()
    {
        // Deterministic check of what keeps late-stealing workers allocation-free: after the trainer is
        // built, sizing any worker's scratch again allocates nothing (4 workers, 3 of them never run a sphere).
        const int B = 1, T = 6;
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 4, HierarchyDepth = 1, SpinRounds = 50 });
        var options = Options(B, T);
        using var tr = new Trainer(options, cp);
        var probe = new ScratchAllocationProbe(Math.Max(4 * options.Model.Channels, options.Model.PaddedVocabSize));
        cp.RunOnEachWorker(probe);
        Assert.Equal(0, Interlocked.Read(ref probe.Allocated));
    }

    [Fact]
    public void Sphere_memory_is_the_documented_arena_and_gradient_buffer_plus_a_small_overhead()
    {
        var cfg = new GptConfig(32, 50, 64, 3, 4, 32);
        const int B = 14, T = 32; // sphere 0 and 1 get two rows, the others one
        long managedBefore = GC.GetAllocatedBytesForCurrentThread();
        using var tr = new Trainer(Options(B, T, 1, cfg), new SequentialExecutor(1));
        long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
        Assert.True(managed / 12 < 10 << 20, $"managed bytes per sphere: {managed / 12}");
        long C = cfg.Channels, L = cfg.NumLayers, NH = cfg.NumHeads, Vp = cfg.PaddedVocabSize;
        foreach (int s in tr.ActiveSpheres)
        {
            var ws = tr.Sphere(s)!;
            long b = ws.RowCount, R = b * T, att = b * NH * T * T;
            // docs/training.md, "What each sphere holds"
            long floats = L * (18 * R * C + 4 * R + 2 * att) + 2 * R * C + 3 * R + 2 * R * Vp + (3 * R * C + 3 * R * C + 2 * att + 8 * R * C)
                // deferred weight gradients: dqkv and dfch for every layer, not one, and two copies of dres per layer
                + (L - 1) * 7 * R * C + 2 * L * R * C;
            long bytes = 4 * floats + 8 * R;
            Assert.True(ws.DefersWeightGradients);
            Assert.InRange(ws.ArenaBytes, bytes, bytes + 64 * 64); // 64-byte alignment padding per slice
            // the reduction's root holds every gradient; the others only the tensors their backward writes
            long small = 0;
            foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>()) if (!ParameterLayout.IsLinearWeight(t)) small += tr.Parameters.Layout.Size(t);
            Assert.Equal(s == tr.ActiveSpheres[0] ? 4L * tr.Parameters.Count : 4 * small, ws.GradientBytes);
            Assert.Equal(s != tr.ActiveSpheres[0], ws.HasCompactGradients);
            // the matrices' inputs packed for their dW GEMMs: R × (each matrix's input channels rounded up to whole panels)
            int nr = Crystalline.Hpc.Kernels.Gemm.SgemmDriver.PanelWidth(Crystalline.Hpc.Kernels.KernelDispatch.Resolve(Crystalline.Hpc.Kernels.VectorWidth.Auto));
            long Padded(long n) => (n + nr - 1) / nr * nr;
            Assert.Equal(4 * R * (L * (3 * Padded(C) + Padded(4 * C)) + Padded(C)), ws.PackedInputBytes);
        }
    }

    [Fact]
    public void Boundary_crossings_are_counted_globally_and_per_sphere()
    {
        var cfg = new GptConfig(64, 11, 16, 1, 1, 4);
        using var tr = new Trainer(Options(24, 64, 1, cfg), new SequentialExecutor(1)); // 1536 tokens a step
        int[] inp = Tokens(24 * 64, 11, 1);
        long crossings = 0; int steps = 0;
        while (crossings == 0) { crossings += tr.Step(inp, inp).BoundaryCrossings; steps++; }
        Assert.Equal(94, steps); // ⌈144000 / 1536⌉
        Assert.Equal(94L * 128, tr.State.SphereTokens[0]); // 2 rows × 64 tokens per step
    }
}
