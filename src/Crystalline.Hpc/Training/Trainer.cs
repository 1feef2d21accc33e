using System.Diagnostics;
using System.Runtime.Intrinsics;
using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Lattice;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Training;

/// <summary>What one optimizer step did.</summary>
internal readonly record struct StepResult(double Loss, double GradNorm, float LearningRate, float GradientScale, long Step,
    long BoundaryCrossings, double ComputeMs, double ReduceMs, double OptimizerMs);

/// <summary>
/// The parallel CLLM trainer. One step: the batch's rows are dealt to leaf spheres (row r → sphere
/// by the base-12 digits of r, least significant first: r mod 12 at the top level, recursively below);
/// every sphere runs forward and backward on its rows in its own arena into its own gradient buffer
/// (<see cref="ISphereExecutor.RunEpoch"/>); a 12-ary tree reduction adds the sphere gradients,
/// children in fixed order, in parallel over slices of the parameter vector — for the weight
/// matrices fused with the GEMMs that make their gradients (<see cref="FusedWeightGradients"/>: each
/// sphere's block of dW is made and added in the tree's order in cache, same bits); then the hierarchical
/// optimizer scales by (1 − Λ), clips to the global norm and applies AdamW, again over slices. The
/// loss is the mean over all B·T tokens, so the split into spheres does not change the math, and
/// every sum has a fixed order, so the weights do not depend on the thread count.
/// </summary>
/// <remarks>
/// Weight versioning: the weights live in one buffer that spheres only read during an epoch; the
/// optimizer writes it only after <see cref="ISphereExecutor.RunEpoch"/> has returned (the epoch's
/// completion is the barrier), then publishes the next <see cref="WeightVersion"/>. The read path
/// takes no lock.
/// </remarks>
internal sealed unsafe class Trainer : IDisposable
{
    private const int SliceFloats = 16384; // 64 KB per reduction/optimizer item: fits L2, enough items to balance

    private readonly ISphereExecutor _exec;
    private readonly SphereWorkspace?[] _spheres;
    private readonly int[] _active;
    private readonly int[] _planDst, _planSrc;
    // The plan grouped into runs of consecutive additions into the same destination: run g adds the
    // buffers of spheres _planSrc[_runFirst[g].._runFirst[g+1]) to sphere _runDst[g]'s, in plan order (fused reduction).
    private readonly int[] _runDst;
    private readonly int[] _runFirst;
    private readonly int _longestRun;
    private readonly ParameterTensor[] _itemTensor;
    private readonly int[] _itemWithin; // the item's start within its tensor
    private readonly int[]? _itemBlock; // fused scheme: the FusedWeightGradients block of a matrix item (−1: not a matrix)
    private readonly int _root;
    private readonly int[] _itemStart, _itemLength;
    private readonly bool[] _itemDecay;
    private readonly double[] _itemSquares;
    private readonly SphereWork _sphereWork;
    private readonly ReduceWork _reduceWork;
    private readonly AdamWork _adamWork;
    private readonly long[] _sphereBusyTicks;
    private readonly long[] _workerSpheres;
    private bool _gradientsReady;
    private readonly bool _overwrite;
    // The weight matrices' gradients computed and tree-reduced block by block after the epoch (see
    // FusedWeightGradients); null: every sphere writes them into its own buffer and ReduceWork adds them.
    private readonly FusedWeightGradients? _fused;
    // The weight matrices packed for the GEMM kernel, refreshed before every forward (the optimizer or a
    // caller may have changed the weights since): once per step instead of once per sphere and GEMM.
    private readonly PackedWeights? _packed;
    // All spheres stage by stage, each weight product over all of them at once (see LockstepPass); null: one
    // epoch in which every sphere runs its forward and backward alone.
    private readonly LockstepPass? _lockstep;
    private readonly StepOp[] _trainProgram, _evalProgram;
    private const int MaxRowsForPrepacking = 128;
    private const int MaxTokensForFusing = 128;
    /// <summary>Weight matrices (fp32 bytes) from which the default runs the spheres in lockstep.</summary>
    internal const long MinMatrixBytesForLockstep = 16L << 20;

    /// <summary>True when the weights are packed once per step for the GEMMs (few rows per sphere, several spheres).</summary>
    internal bool PrepacksWeights => _packed is not null;

    /// <summary>True when the weight matrices' gradients are made and reduced by <see cref="FusedWeightGradients"/>.</summary>
    internal bool FusesWeightGradients => _fused is not null;

    /// <summary>True when the spheres run in lockstep (<see cref="LockstepPass"/>) rather than one epoch of whole spheres.</summary>
    internal bool RunsInLockstep => _lockstep is not null;

    /// <summary>Bytes of the lockstep pass's shared packed-A buffer (0 without lockstep, or before the first step).</summary>
    internal long LockstepSharedPackedABytes => _lockstep?.SharedPackedABytes ?? 0;

    /// <summary>The fused weight-gradient reduction, or null (tests read its slot count).</summary>
    internal FusedWeightGradients? WeightGradientFusion => _fused;

    /// <param name="options">What fixes the arithmetic.</param>
    /// <param name="executor">Runs the spheres (sequential reference or the control process).</param>
    /// <param name="weights">Initial weights (copied); null: initialise from the seed.</param>
    /// <param name="legacyGradientZeroing">
    /// Bench and test switch: true restores the zero-then-accumulate gradient scheme (the reduction
    /// clears each child slice and the optimizer each root slice after use, one addition pass per
    /// child; see <see cref="SphereWorkspace"/>'s overwriteGradients). Same weights bit for bit either way.
    /// </param>
    /// <param name="prepackWeights">Bench and test switch: false lets every GEMM pack its weight operand itself
    /// instead of using the once-per-step <see cref="PackedWeights"/>. Same weights bit for bit either way.</param>
    /// <param name="fuseWeightGradients">Bench and test switch: whether the weight matrices' gradients are made
    /// and reduced by <see cref="FusedWeightGradients"/> (true) or every sphere computes them into its own buffer
    /// for the reduction to add (false, the per-sphere scheme). Same weights bit for bit either way. Null (the
    /// default): fused when no sphere holds more than 128 tokens. Off regardless with legacyGradientZeroing or a
    /// GEMM that does not pack.</param>
    /// <param name="lockstep">Bench and test switch: whether the spheres run in lockstep, stage by stage with every
    /// weight product shared by all of them (<see cref="LockstepPass"/>, which packs the weights where it uses them,
    /// so no <see cref="PackedWeights"/> then), or each sphere its whole forward and backward in one epoch. Same
    /// weights bit for bit either way. Null (the default): lockstep where several spheres hold at most 128 tokens
    /// each and the weight matrices take at least 16 MB (<see cref="MinMatrixBytesForLockstep"/>: below that they
    /// stay in cache and the barriers cost more). Off regardless with legacyGradientZeroing or a GEMM that does not pack.</param>
    /// <param name="lockstepSharedPackedABytes">Bench and test switch: in lockstep, the most bytes of a product's A that the
    /// stage before it packs once into a shared buffer for all column items (<see cref="LockstepPass.PacksAInStage"/>); 0: every
    /// item packs A itself. Same weights bit for bit either way.</param>
    /// <exception cref="ArgumentException">invalid options, or an executor whose sphere count is not 12^depth.</exception>
    public Trainer(TrainerOptions options, ISphereExecutor executor, GptParameters? weights = null, bool legacyGradientZeroing = false,
        bool prepackWeights = true, bool? fuseWeightGradients = null, bool? lockstep = null, long lockstepSharedPackedABytes = LockstepPass.MaxSharedPackedABytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(executor);
        options.Validate();
        Options = options;
        _exec = executor;
        _overwrite = !legacyGradientZeroing;
        int S = options.SphereCount;
        if (executor.SphereCount != S) throw new ArgumentException($"executor runs {executor.SphereCount} spheres, hierarchy depth {options.HierarchyDepth} needs {S}");
        Parameters = new GptParameters(options.Model);
        if (weights is null) Parameters.Initialize(options.Seed, options.Init);
        else Parameters.CopyFrom(weights);
        State = new TrainingState(Parameters.Count, S) { OptionsHash = options.Hash(), TotalSteps = options.TotalSteps, WarmupSteps = options.WarmupSteps };
        var rng = new DeterministicRandom(options.Seed ^ 0x5DEECE66DUL);
        State.RngState = rng.GetState();

        // Deal rows to leaf spheres; only spheres with rows get an arena and a gradient buffer.
        var rowsOf = new List<int>[S];
        for (int r = 0; r < options.BatchSize; r++) (rowsOf[LeafOfRow(r, options.HierarchyDepth)] ??= new List<int>()).Add(r);
        int mostTokens = 0;
        foreach (var rows in rowsOf) if (rows is not null) mostTokens = Math.Max(mostTokens, rows.Count * options.SeqLen);
        // Fused weight gradients pay off where spheres hold few tokens (k of their dW GEMMs): B=4, T=64 on 2
        // threads 1,193 vs 1,342 ms/step (mean of three paired runs), with 1.3 GB less memory; at 256 tokens
        // a sphere's own dW GEMM is the faster one (B=12, T=256: 10.6 vs 9.6 s/step) — docs/training.md.
        bool fuse = (fuseWeightGradients ?? mostTokens <= MaxTokensForFusing) && _overwrite && SphereWorkspace.SupportsDeferredWeightGradients(options.Precision);
        (_planDst, _planSrc, _root) = BuildReductionPlan(Array.ConvertAll(rowsOf, r => r is not null), options.HierarchyDepth);
        _spheres = new SphereWorkspace?[S];
        var active = new List<int>();
        for (int s = 0; s < S; s++)
        {
            if (rowsOf[s] is null) continue;
            // NUMA-local: the arena and gradient buffer live on the node of the worker that owns the sphere.
            int node = executor is ControlProcess cp ? cp.Placements[cp.HomeWorkerOf(s)].NumaNode : -1;
            // Fused: only the root's buffer receives the weight matrices' gradients; the others hold the small tensors.
            _spheres[s] = new SphereWorkspace(s, rowsOf[s].ToArray(), options.SeqLen, Parameters.Layout, withGradients: true, node, _overwrite, options.Precision,
                deferWeightGradients: fuse, compactGradients: fuse && s != _root);
            active.Add(s);
        }
        _active = active.ToArray();
        // Worth it when several spheres multiply by each weight and each has few rows: packing B is 20–27%
        // of a 64-row GEMM but ~3% of a 256-row one, where the packed copies' extra memory traffic
        // cancels the saving (measured: −6% ms/step at B=4 T=64, +2% at B=12 T=256 on 2 threads).
        int maxSphereRows = 0;
        foreach (int s in _active) maxSphereRows = Math.Max(maxSphereRows, _spheres[s]!.RowCount * options.SeqLen);
        bool fewRowsEach = _active.Length >= 2 && maxSphereRows <= MaxRowsForPrepacking;
        // Lockstep pays where every sphere would otherwise stream weights that do not stay in cache; for small
        // models its ~100 barriers per step cost more than the re-reads (docs/training.md, fifth session).
        long matrixBytes = 0;
        foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>())
            if (ParameterLayout.IsLinearWeight(t)) matrixBytes += Parameters.Layout.Size(t) * (long)sizeof(float);
        // Lockstep products pack each weight block where they use it, once for all spheres: no packed copies.
        bool lockstepRun = (lockstep ?? matrixBytes >= MinMatrixBytesForLockstep) && fewRowsEach && _overwrite && SphereWorkspace.SupportsDeferredWeightGradients(options.Precision);
        _packed = prepackWeights && fewRowsEach && !lockstepRun ? PackedWeights.TryCreate(Parameters.Layout, precision: options.Precision) : null;
        // With stealing, a sphere may first run on any worker mid-run; size every worker's GEMM
        // scratch now so the steady state allocates nothing on any thread.
        executor.RunOnEachWorker(new GemmWarmUp(Math.Max(4 * options.Model.Channels, options.Model.PaddedVocabSize)));
        var runDst = new List<int>(); var runFirst = new List<int>();
        for (int k = 0; k < _planDst.Length; k++)
            if (k == 0 || _planDst[k] != _planDst[k - 1]) { runDst.Add(_planDst[k]); runFirst.Add(k); }
        runFirst.Add(_planDst.Length);
        _runDst = runDst.ToArray(); _runFirst = runFirst.ToArray();
        for (int g = 0; g + 1 < _runFirst.Length; g++) _longestRun = Math.Max(_longestRun, _runFirst[g + 1] - _runFirst[g]);
        if (fuse)
        {
            _fused = new FusedWeightGradients(_spheres, _active, _planDst, _planSrc, _root, Parameters.Layout);
            executor.RunOnEachWorker(new FusedWarmUp(_fused));
        }

        // Items: slices of the parameter vector that never straddle a tensor (decay differs per tensor). A weight
        // matrix is cut into the fused reduction's blocks (FusedWeightGradients.BlockRows rows of one layer), which
        // then sum each block's squares for the gradient norm while it is in cache; the per-sphere scheme cuts the
        // same way, so the norm is the same sum in the same order either way.
        var starts = new List<int>(); var lengths = new List<int>(); var decay = new List<bool>();
        var tensors = new List<ParameterTensor>(); var within = new List<int>();
        foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>())
        {
            int off = Parameters.Layout.Offset(t), size = Parameters.Layout.Size(t);
            int rowFloats = ParameterLayout.IsLinearWeight(t) ? Parameters.Layout.MatrixShape(t).InChannels : 0;
            int layerFloats = rowFloats == 0 ? size : Parameters.Layout.MatrixShape(t).OutChannels * rowFloats;
            for (int layer = 0; layer * layerFloats < size; layer++)
            {
                int layerStart = layer * layerFloats;
                int step = rowFloats == 0 ? SliceFloats : FusedWeightGradients.BlockRows * rowFloats;
                for (int i = layerStart; i < layerStart + layerFloats; i += step)
                {
                    starts.Add(off + i); lengths.Add(Math.Min(step, layerStart + layerFloats - i)); decay.Add(ParameterLayout.IsDecayed(t));
                    tensors.Add(t); within.Add(i);
                }
            }
        }
        _itemStart = starts.ToArray(); _itemLength = lengths.ToArray(); _itemDecay = decay.ToArray();
        _itemTensor = tensors.ToArray(); _itemWithin = within.ToArray();
        if (_fused is not null)
        {
            // Each matrix item is one fused block: its squares come from the fused pass.
            _itemBlock = new int[_itemStart.Length];
            for (int i = 0; i < _itemStart.Length; i++)
                _itemBlock[i] = ParameterLayout.IsLinearWeight(_itemTensor[i]) ? _fused.BlockAt(_itemStart[i], _itemLength[i]) : -1;
        }
        _itemSquares = new double[_itemStart.Length];
        _sphereWork = new SphereWork(this);
        _reduceWork = new ReduceWork(this);
        _adamWork = new AdamWork(this);
        _sphereBusyTicks = new long[S];
        _workerSpheres = new long[Math.Max(1, executor.WorkerCount)];
        _evalProgram = StepProgram.Forward(options.Model.NumLayers);
        _trainProgram = [.. _evalProgram, .. StepProgram.Backward(options.Model.NumLayers)];
        _lockstepCounters = new LockstepCounters(S);
        if (lockstepRun) _lockstep = new LockstepPass(Array.ConvertAll(_active, s => _spheres[s]!), executor.WorkerCount, _sphereBusyTicks, _workerSpheres,
            _lockstepCounters, lockstepSharedPackedABytes);
    }

    public TrainerOptions Options { get; }
    /// <summary>The weights. Written by <see cref="Step"/>'s optimizer; code that writes them otherwise must call
    /// <see cref="MarkWeightsChanged"/> before the next forward (the GEMMs may read packed copies).</summary>
    public GptParameters Parameters { get; }
    public TrainingState State { get; }
    public ISphereExecutor Executor => _exec;

    /// <summary>Incremented each time the optimizer publishes new weights.</summary>
    public long WeightVersion => Volatile.Read(ref _weightVersion);
    private long _weightVersion;
    private long _packedVersion = -1;

    /// <summary>Call after writing <see cref="Parameters"/> other than through <see cref="Step"/>: the packed
    /// copies of the weights the GEMMs read are then rebuilt before the next forward.</summary>
    internal void MarkWeightsChanged() => Interlocked.Increment(ref _weightVersion);

    // Packs the weights for the GEMMs once per weight version (a step changes them; validation batches
    // between steps reuse the packing).
    private void RefreshPackedWeights()
    {
        if (_packed is null) return;
        long version = Volatile.Read(ref _weightVersion);
        if (version == _packedVersion) return;
        _packed.Pack(Parameters.Pointer, _exec);
        _packedVersion = version;
    }

    /// <summary>Spheres that own rows (the others hold no memory).</summary>
    public IReadOnlyList<int> ActiveSpheres => _active;
    public SphereWorkspace? Sphere(int s) => _spheres[s];
    public int ItemCount => _itemStart.Length;
    /// <summary>Cumulative busy time per sphere (Stopwatch ticks) and spheres run per worker.</summary>
    public ReadOnlySpan<long> SphereBusyTicks => _sphereBusyTicks;

    /// <summary>In lockstep: stage runs and steals per sphere and the weight products' busy time (since <see cref="ResetStatistics"/>).</summary>
    internal LockstepCounters LockstepStatistics => _lockstepCounters;
    private readonly LockstepCounters _lockstepCounters;
    public ReadOnlySpan<long> WorkerSphereRuns => _workerSpheres;

    /// <summary>The reduced gradient of the last <see cref="ComputeGradients"/> (valid until the next step).</summary>
    public ReadOnlySpan<float> Gradient => _gradientsReady ? _spheres[_root]!.Gradients : throw new InvalidOperationException("no gradients computed yet");

    /// <summary>Leaf sphere of batch row r at depth d: the base-12 digits of r mod 12^d, least significant digit at the top level.</summary>
    public static int LeafOfRow(int row, int depth)
    {
        int leaf = 0, r = row;
        for (int k = 0; k < depth; k++) { leaf = leaf * 12 + r % 12; r /= 12; }
        return leaf;
    }

    /// <summary>
    /// The in-place 12-ary tree: from the deepest level up, each parent's sum lands in the buffer of its
    /// first child with rows, and the other children are added to it in index order. Returns the
    /// (destination, source) additions in execution order and the sphere whose buffer ends up holding the root.
    /// </summary>
    private static (int[] Dst, int[] Src, int Root) BuildReductionPlan(bool[] hasRows, int depth)
    {
        int n = hasRows.Length;
        var rep = new int[n];
        for (int s = 0; s < n; s++) rep[s] = hasRows[s] ? s : -1;
        var dst = new List<int>(); var src = new List<int>();
        for (int level = depth; level > 0; level--)
        {
            int parents = n / 12;
            var up = new int[parents];
            for (int p = 0; p < parents; p++)
            {
                int target = -1;
                for (int c = 0; c < 12; c++)
                {
                    int r = rep[p * 12 + c];
                    if (r < 0) continue;
                    if (target < 0) target = r;
                    else { dst.Add(target); src.Add(r); }
                }
                up[p] = target;
            }
            rep = up;
            n = parents;
        }
        return (dst.ToArray(), src.ToArray(), rep[0]);
    }

    private void Gather(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets)
    {
        int n = Options.BatchSize * Options.SeqLen;
        if (inputs.Length != n || targets.Length != n) throw new ArgumentException($"a batch holds B·T = {n} inputs and targets");
        int V = Options.Model.VocabSize;
        for (int i = 0; i < n; i++)
            if ((uint)inputs[i] >= (uint)V || (uint)targets[i] >= (uint)V) throw new ArgumentException($"token at {i} outside the vocabulary of {V}");
        foreach (int s in _active) _spheres[s]!.Gather(inputs, targets);
    }

    private double TotalLoss()
    {
        double sum = 0;
        foreach (int s in _active) sum += _spheres[s]!.LossSum;
        return sum / ((double)Options.BatchSize * Options.SeqLen);
    }

    /// <summary>Forward only: the mean loss of a batch (validation). Leaves the gradients invalid.</summary>
    public double Evaluate(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets)
    {
        Gather(inputs, targets);
        _gradientsReady = false;
        _sphereWork.Backward = false;
        RefreshPackedWeights();
        if (_lockstep is not null) _lockstep.Run(_evalProgram, Parameters.Pointer, 0f, _exec);
        else _exec.RunEpoch(_sphereWork);
        return TotalLoss();
    }

    /// <summary>Forward, backward and tree reduction: returns the mean loss; <see cref="Gradient"/> then holds dLoss/dθ.</summary>
    public double ComputeGradients(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets)
    {
        Gather(inputs, targets);
        _sphereWork.Backward = true;
        _sphereWork.LossScale = 1f / (Options.BatchSize * Options.SeqLen);
        long t0 = Stopwatch.GetTimestamp();
        RefreshPackedWeights();
        if (_lockstep is not null) _lockstep.Run(_trainProgram, Parameters.Pointer, _sphereWork.LossScale, _exec);
        else
        {
            long region = StepProfile.RegionStart(_exec.WorkerCount);
            _exec.RunEpoch(_sphereWork);
            StepProfile.RegionEnd(StepRegion.Epoch, region, _exec.WorkerCount);
        }
        _fused?.Run(_exec, _spheres[_root]!.GradientPointer); // the backward's weight GEMMs, reduced as they go
        long t1 = Stopwatch.GetTimestamp();
        long reduceRegion = StepProfile.RegionStart(_exec.WorkerCount);
        _exec.RunParallel(_reduceWork, _itemStart.Length);
        StepProfile.RegionEnd(StepRegion.Reduction, reduceRegion, _exec.WorkerCount);
        if (!_overwrite)
            foreach (int s in _active) if (s != _root) _spheres[s]!.GradientsZeroed = true; // ReduceWork cleared every source slice
        LastComputeTicks = t1 - t0;
        LastReduceTicks = Stopwatch.GetTimestamp() - t1;
        _gradientsReady = true;
        return TotalLoss();
    }

    public long LastComputeTicks { get; private set; }
    public long LastReduceTicks { get; private set; }

    /// <summary>One full optimizer step on a batch.</summary>
    public StepResult Step(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets)
    {
        double loss = ComputeGradients(inputs, targets);
        long t0 = Stopwatch.GetTimestamp();
        double sq = 0;
        for (int i = 0; i < _itemSquares.Length; i++) sq += _itemSquares[i]; // fixed order: deterministic
        double norm = Math.Sqrt(sq);
        double lambdaFactor = Options.LambdaCorrection ? 1.0 - LatticeConstants.Lambda : 1.0;
        double scaledNorm = norm * lambdaFactor;
        double clip = Options.GradClip > 0 && scaledNorm > Options.GradClip ? Options.GradClip / scaledNorm : 1.0;
        float gradScale = (float)(lambdaFactor * clip);
        long step = State.Step;
        float lr = Options.LearningRateAt(step);
        _adamWork.Decayed = new AdamWSettings(lr, Options.Beta1, Options.Beta2, Options.Epsilon, Options.WeightDecay);
        _adamWork.Plain = new AdamWSettings(lr, Options.Beta1, Options.Beta2, Options.Epsilon, 0f);
        _adamWork.StepNumber = checked((int)(step + 1));
        _adamWork.GradientScale = gradScale;
        long optimizerRegion = StepProfile.RegionStart(_exec.WorkerCount);
        _exec.RunParallel(_adamWork, _itemStart.Length);
        StepProfile.RegionEnd(StepRegion.Optimizer, optimizerRegion, _exec.WorkerCount);
        if (!_overwrite) _spheres[_root]!.GradientsZeroed = true; // AdamWork cleared every slice of the reduced gradient after using it
        _gradientsReady = false;
        Interlocked.Increment(ref _weightVersion);
        long t1 = Stopwatch.GetTimestamp();

        State.Step = step + 1;
        long tokens = (long)Options.BatchSize * Options.SeqLen;
        long before = State.TokensProcessed;
        State.TokensProcessed = before + tokens;
        var control = _exec as ControlProcess;
        foreach (int s in _active)
        {
            long sb = State.SphereTokens[s];
            State.SphereTokens[s] = sb + (long)_spheres[s]!.RowCount * Options.SeqLen;
            long sc = Boundary144000.CrossingsBetween(sb, State.SphereTokens[s]);
            if (sc > 0) control?.ReportBoundaryCrossings(s, sc);
        }
        long crossings = Boundary144000.CrossingsBetween(before, State.TokensProcessed);
        double f = 1000.0 / Stopwatch.Frequency;
        return new StepResult(loss, norm, lr, gradScale, State.Step, crossings, LastComputeTicks * f, LastReduceTicks * f, (t1 - t0) * f);
    }

    /// <summary>Copies the logits of the last forward pass (B·T·Vp, batch order) into <paramref name="dst"/>.</summary>
    public void CopyLogits(Span<float> dst)
    {
        int T = Options.SeqLen, Vp = Options.Model.PaddedVocabSize;
        foreach (int s in _active)
        {
            var ws = _spheres[s]!;
            for (int i = 0; i < ws.RowCount; i++) ws.Logits(i).CopyTo(dst.Slice(ws.Rows[i] * T * Vp, T * Vp));
        }
    }

    /// <summary>Takes the optimizer moments and counters of a saved state (same shape). The options hash and
    /// schedule stay this run's: a state saved from here on describes the run that writes it.</summary>
    public void LoadState(TrainingState saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        State.CopyFrom(saved);
        State.OptionsHash = Options.Hash();
        State.TotalSteps = Options.TotalSteps;
        State.WarmupSteps = Options.WarmupSteps;
    }

    public void ResetStatistics()
    {
        Array.Clear(_sphereBusyTicks);
        Array.Clear(_workerSpheres);
        _lockstepCounters.Reset();
    }

    public void Dispose()
    {
        foreach (var s in _spheres) s?.Dispose();
        Parameters.Dispose();
        State.Dispose();
        _packed?.Dispose();
        _lockstep?.Dispose();
    }

    private sealed class SphereWork(Trainer t) : ISphereWork
    {
        public bool Backward;
        public float LossScale;

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            SphereWorkspace? ws = t._spheres[sphereIndex];
            if (ws is null) return;
            long t0 = Stopwatch.GetTimestamp(), c0 = StepProfile.Start();
            float* p = t.Parameters.Pointer;
            ws.Forward(p, t._packed);
            if (Backward) ws.Backward(p, LossScale, t._packed);
            long t1 = Stopwatch.GetTimestamp();
            t._sphereBusyTicks[sphereIndex] += t1 - t0;
            StepProfile.ChargeWorker(workerIndex, c0);
            StepProfile.ItemEnd(workerIndex, StepProfile.Enabled ? t0 : 0);
            if ((uint)workerIndex < (uint)t._workerSpheres.Length) t._workerSpheres[workerIndex]++;
        }
    }

    private sealed class ReduceWork(Trainer t) : IParallelWork
    {
        public void ExecuteItem(int itemIndex, int workerIndex)
        {
            long w0 = StepProfile.ItemStart(), tm = StepProfile.Start();
            int start = t._itemStart[itemIndex], len = t._itemLength[itemIndex];
            if (t._itemBlock is not null && t._itemBlock[itemIndex] >= 0)
            {
                // FusedWeightGradients has written the root's slice and summed its squares.
                t._itemSquares[itemIndex] = t._fused!.BlockSquares[t._itemBlock[itemIndex]];
                StepProfile.ChargeWorker(workerIndex, tm);
                StepProfile.Lap(StepPhase.Reduction, ref tm);
                StepProfile.ItemEnd(workerIndex, w0);
                return;
            }
            else if (t._overwrite)
            {
                // Buffers may be compact (fused scheme): find the item's slice through its tensor in each.
                ParameterTensor tensor = t._itemTensor[itemIndex];
                int within = t._itemWithin[itemIndex];
                Span<nint> sources = stackalloc nint[t._longestRun];
                for (int g = 0; g + 1 < t._runFirst.Length; g++)
                {
                    int first = t._runFirst[g], count = t._runFirst[g + 1] - first;
                    for (int k = 0; k < count; k++) sources[k] = (nint)(t._spheres[t._planSrc[first + k]]!.TensorGradient(tensor) + within);
                    AddRun(t._spheres[t._runDst[g]]!.TensorGradient(tensor) + within, sources[..count], len);
                }
            }
            else
            {
                for (int k = 0; k < t._planDst.Length; k++)
                {
                    var dst = new Span<float>(t._spheres[t._planDst[k]]!.GradientPointer + start, len);
                    var src = new Span<float>(t._spheres[t._planSrc[k]]!.GradientPointer + start, len);
                    VectorMath.AddTo(dst, src);
                    if (!t._overwrite) src.Clear(); // still in cache: cheaper than a separate pass before the next backward
                }
            }
            t._itemSquares[itemIndex] = VectorMath.SumOfSquares(new ReadOnlySpan<float>(t._spheres[t._root]!.GradientPointer + start, len));
            StepProfile.ChargeWorker(workerIndex, tm);
            StepProfile.Lap(StepPhase.Reduction, ref tm);
            StepProfile.ItemEnd(workerIndex, w0);
        }
    }

    /// <summary>
    /// dst[i] = (…((dst[i] + src₀[i]) + src₁[i]) + …) over the run's sources in plan order: the same
    /// float additions, in the same order, as one <see cref="VectorMath.AddTo"/> pass per source, but
    /// each element is loaded and stored once instead of once per source.
    /// </summary>
    private static void AddRun(float* dst, ReadOnlySpan<nint> sources, int len)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= len; i += 8)
            {
                var v = Vector256.Load(dst + i);
                foreach (nint src in sources) v += Vector256.Load((float*)src + i);
                v.Store(dst + i);
            }
        }
        for (; i < len; i++)
        {
            float v = dst[i];
            foreach (nint src in sources) v += ((float*)src)[i];
            dst[i] = v;
        }
    }

    private sealed class AdamWork(Trainer t) : IParallelWork
    {
        public AdamWSettings Decayed, Plain;
        public int StepNumber;
        public float GradientScale;

        public void ExecuteItem(int itemIndex, int workerIndex)
        {
            long w0 = StepProfile.ItemStart(), tm = StepProfile.Start();
            int start = t._itemStart[itemIndex], len = t._itemLength[itemIndex];
            var p = new Span<float>(t.Parameters.Pointer + start, len);
            var g = new ReadOnlySpan<float>(t._spheres[t._root]!.GradientPointer + start, len);
            var m = new Span<float>(t.State.M.Pointer + start, len);
            var v = new Span<float>(t.State.V.Pointer + start, len);
            if (t._itemDecay[itemIndex]) AdamW.Update(p, g, m, v, in Decayed, StepNumber, GradientScale);
            else AdamW.Update(p, g, m, v, in Plain, StepNumber, GradientScale);
            if (!t._overwrite) new Span<float>(t._spheres[t._root]!.GradientPointer + start, len).Clear(); // ready for the next backward
            StepProfile.ChargeWorker(workerIndex, tm);
            StepProfile.Lap(StepPhase.Optimizer, ref tm);
            StepProfile.ItemEnd(workerIndex, w0);
        }
    }
}

/// <summary>Sizes one worker's slots for <see cref="FusedWeightGradients"/>.</summary>
internal sealed class FusedWarmUp(FusedWeightGradients fused) : IParallelWork
{
    public void ExecuteItem(int itemIndex, int workerIndex) => fused.WarmUp();
}

/// <summary>Sizes one worker's GEMM pack buffers (see <see cref="Kernels.Gemm.GemmScratch.WarmUp"/>).</summary>
internal sealed class GemmWarmUp(int maxInner) : IParallelWork
{
    public void ExecuteItem(int itemIndex, int workerIndex) => Kernels.Gemm.GemmScratch.WarmUp(maxInner);
}
