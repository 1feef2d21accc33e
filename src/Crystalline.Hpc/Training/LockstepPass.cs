using System.Diagnostics;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Training;

/// <summary>
/// Runs <see cref="StepProgram"/> with all spheres in lockstep: each stage is one
/// <see cref="ISphereExecutor.RunParallel"/> over the spheres, and each product by a weight matrix one
/// over blocks of the matrix's columns, an item packing its block of the weight slice by slice and
/// multiplying it by every sphere's rows in turn (<see cref="BlockedGemm{TK}.ComputeColumnsOfParts"/>)
/// while it is in L2.
/// </summary>
/// <remarks>
/// Why: a sphere of 64 tokens (B=4, T=64 on 12 spheres) multiplies each weight matrix by 64 rows, and
/// run one after another every sphere streams all 0.5 GB of packed weights from memory twice per step
/// (forward and dinput); in lockstep each weight block is read once per step for all spheres, and is
/// packed where it is used, so no packed copies of the weights are written (<see cref="PackedWeights"/>). The
/// arithmetic is the same — every sphere's rows get the same tiles, k order and stages as when it runs
/// alone — so the weights are bitwise those of the sphere-by-sphere epoch (tested). The price is one
/// synchronisation per stage and per product instead of one epoch: ~200 per step at gpt2-124M, which is
/// why the trainer uses it only for models whose weight matrices do not stay in cache (16 MB and up).
/// The scheduler's per-sphere statistics count epochs, so in lockstep they show no sphere work; the
/// trainer's own per-sphere busy time (stages only) and the per-worker totals still do.
/// </remarks>
internal sealed unsafe class LockstepPass : IParallelWork, IDisposable
{
    /// <summary>Default of the most bytes of shared packed A a product may take (<see cref="PacksAInStage"/>); larger ones pack
    /// per item. 64 MB: the LM head's dinput at gpt2-124M, B=4, T=64 takes 53.</summary>
    internal const long MaxSharedPackedABytes = 64L << 20;
    private readonly long _sharedALimit;

    private readonly SphereWorkspace[] _spheres;
    private readonly Kernels.VectorWidth _width;
    private readonly GemmPrecision _precision;
    private readonly int _panelWidth;
    private readonly GemmArgs[] _parts;
    private readonly long[] _sphereBusyTicks;
    private readonly long[] _workerSphereRuns;
    private readonly LockstepCounters _counters;
    private ControlProcess? _control; // the executor in flight, where it deals items to workers' blocks
    private readonly int _workers;

    // The operation in flight, written by the control thread before each RunParallel.
    private StepOp _op;
    private float* _parameters;
    private float _lossScale;
    private float* _bias;
    private int _columns, _columnsPerItem;

    // The next product's A packed by the stage before it, each sphere its own rows (see PacksAInStage): the layout of
    // ComputeColumnsOfParts's packedA. Row slot of each sphere's rows, the slots in all, and the buffer (grown once, at
    // the first pass that needs it).
    private readonly long[] _partRow0;
    private readonly long _rowSlots;
    private AlignedBuffer<float>? _sharedA;
    private StepOp _packNext;      // the product the stage in flight packs A for
    private bool _stagePacks;      // … if it does
    private bool _productAPacked;  // the product in flight finds its A packed

    /// <param name="spheres">The spheres with rows, in index order.</param>
    /// <param name="workers">The executor's worker count (sizes the column blocks).</param>
    /// <param name="sphereBusyTicks">Per sphere index: time in stages is added here.</param>
    /// <param name="workerSphereRuns">Per worker: spheres it embedded (one per sphere and pass).</param>
    /// <param name="counters">Where stage runs and steals per sphere and the products' busy time are counted.</param>
    /// <param name="sharedPackedABytes">Most bytes of shared packed A a product may take (0: every item packs A itself).</param>
    /// <exception cref="NotSupportedException">the GEMM at the spheres' precision does not pack (the scalar reference).</exception>
    public LockstepPass(SphereWorkspace[] spheres, int workers, long[] sphereBusyTicks, long[] workerSphereRuns, LockstepCounters counters,
        long sharedPackedABytes = MaxSharedPackedABytes)
    {
        _counters = counters;
        _sharedALimit = sharedPackedABytes;
        _spheres = spheres;
        _width = Kernels.KernelDispatch.Resolve(Kernels.VectorWidth.Auto);
        _precision = spheres[0].Precision;
        _panelWidth = SgemmDriver.PanelWidth(_width, _precision);
        if (_panelWidth == 0) throw new NotSupportedException("the lockstep products need a GEMM that packs its operands");
        _parts = new GemmArgs[spheres.Length];
        _workers = Math.Max(1, workers);
        _sphereBusyTicks = sphereBusyTicks;
        _workerSphereRuns = workerSphereRuns;
        int mr = SgemmDriver.PanelRows(_width, _precision);
        _partRow0 = new long[spheres.Length];
        for (int s = 0; s < spheres.Length; s++)
        {
            _partRow0[s] = _rowSlots;
            _rowSlots += (spheres[s].RowCount * spheres[s].T + mr - 1) / mr * mr;
        }
    }

    /// <summary>
    /// Whether the stage before product <paramref name="product"/> packs its A (each sphere its own rows, right after
    /// making them, while they are in its worker's cache) into one buffer that every column item then reads — instead of
    /// every item packing all the spheres' rows for itself. Not where the packed A would exceed
    /// the limit given to the constructor (default <see cref="MaxSharedPackedABytes"/>).
    /// </summary>
    /// <remarks>Why: a product of two column items (dinput of fc: K = 3072; of the LM head: K = Vp) on two workers packed
    /// all of A twice; at gpt2-124M B=4 T=64 that was ~25 of the step's 61 ms of A packing on two threads.</remarks>
    internal bool PacksAInStage(in StepOp product, float* parameters) => SharedAFloats(in product, parameters) * sizeof(float) <= _sharedALimit;

    /// <summary>Floats of product <paramref name="product"/>'s A packed for all spheres and all of K.</summary>
    private long SharedAFloats(in StepOp product, float* parameters) =>
        SgemmDriver.PackedPartsFloats(_rowSlots, _spheres[0].ProductArgs(in product, parameters, false).K, _precision);

    /// <summary>Bytes of the shared packed-A buffer (0 before the first pass that packs in a stage).</summary>
    internal long SharedPackedABytes => _sharedA is null ? 0 : _sharedA.Length * sizeof(float);

    public void Dispose()
    {
        _sharedA?.Dispose();
        _sharedA = null;
    }

    /// <summary>Runs <paramref name="program"/> on every sphere against the weights at <paramref name="parameters"/>.</summary>
    public void Run(ReadOnlySpan<StepOp> program, float* parameters, float lossScale, ISphereExecutor executor)
    {
        _parameters = parameters;
        _lossScale = lossScale;
        _control = executor as ControlProcess;
        foreach (SphereWorkspace ws in _spheres) ws.UsePackedWeights(null);
        EnsureSharedA(program, parameters);
        try
        {
            for (int i = 0; i < program.Length; i++)
            {
                StepOp op = program[i];
                _op = op;
                if (!op.IsProduct)
                {
                    _stagePacks = i + 1 < program.Length && program[i + 1].IsProduct && PacksAInStage(in program[i + 1], parameters);
                    _packNext = _stagePacks ? program[i + 1] : default;
                    long region = StepProfile.RegionStart(executor.WorkerCount);
                    executor.RunParallel(this, _spheres.Length);
                    StepProfile.RegionEnd(StepRegion.Stage, region, executor.WorkerCount);
                    _productAPacked = _stagePacks;
                    _stagePacks = false;
                    continue;
                }
                _bias = _spheres[0].ProductBias(in op, parameters);
                for (int s = 0; s < _spheres.Length; s++) _parts[s] = _spheres[s].ProductArgs(in op, parameters, startsAtBias: _bias != null);
                _columns = _parts[0].N;
                _columnsPerItem = ColumnsPerItem(_columns, _panelWidth, _precision, _workers);
                long productRegion = StepProfile.RegionStart(executor.WorkerCount);
                executor.RunParallel(this, (_columns + _columnsPerItem - 1) / _columnsPerItem);
                StepProfile.RegionEnd(StepRegion.Product, productRegion, executor.WorkerCount);
                _productAPacked = false;
            }
        }
        finally
        {
            Array.Clear(_parts); // drop the pointers into the arenas
            _bias = null;
            _parameters = null;
            _control = null;
            _stagePacks = _productAPacked = false;
        }
    }

    /// <summary>Grows the shared packed-A buffer to the largest product of <paramref name="program"/> that packs in its stage.</summary>
    private void EnsureSharedA(ReadOnlySpan<StepOp> program, float* parameters)
    {
        long floats = 0;
        for (int i = 1; i < program.Length; i++)
            if (program[i].IsProduct && !program[i - 1].IsProduct && PacksAInStage(in program[i], parameters))
                floats = Math.Max(floats, SharedAFloats(in program[i], parameters));
        if (floats == 0 || (_sharedA is not null && _sharedA.Length >= floats)) return;
        _sharedA?.Dispose();
        _sharedA = null;
        _sharedA = new AlignedBuffer<float>(floats);
    }

    /// <summary>Fewest column items per worker of a product with panels enough (see <see cref="ColumnsPerItem"/>).</summary>
    internal const int ItemsPerWorker = 2;

    /// <summary>
    /// Columns per item of a product with <paramref name="n"/> columns: whole panels, no more than one NC block
    /// (the block times the KC slice must stay in L2 while every sphere's rows pass), at least
    /// <see cref="ItemsPerWorker"/> per worker where there are panels enough, and a multiple of the worker count,
    /// so the workers get equal shares.
    /// </summary>
    /// <remarks>
    /// Two items per worker rather than one: a worker held up (another process on its core) then hands its second
    /// item to the other instead of making it wait. That was too dear while every item packed all the spheres' rows
    /// of A for itself (four items of 192 columns instead of two of 384 cost the backward products ~15% more CPU
    /// time, fifth session); now the stage before the product packs A once (<see cref="PacksAInStage"/>; an A wider than
    /// the shared buffer's limit is still packed by every item). Measured at B=4, T=64, 2 threads, four pairs with
    /// the profile: products' wall − mean worker time 7–18 ms against 5–40 ms, step 871–916 ms against 865–1,033.
    /// </remarks>
    internal static int ColumnsPerItem(int n, int panelWidth, GemmPrecision precision, int workers)
    {
        int panels = (n + panelWidth - 1) / panelWidth;
        int blockPanels = Math.Max(1, GemmBlocking.Columns(precision) / panelWidth);
        int items = Math.Max((panels + blockPanels - 1) / blockPanels, workers * ItemsPerWorker);
        items = Math.Min(panels, (items + workers - 1) / workers * workers);
        return (panels + items - 1) / items * panelWidth;
    }

    public void ExecuteItem(int itemIndex, int workerIndex)
    {
        long w0 = StepProfile.ItemStart(), c0 = StepProfile.Start();
        if (!_op.IsProduct)
        {
            long t0 = Stopwatch.GetTimestamp();
            SphereWorkspace ws = _spheres[itemIndex];
            ws.RunStage(in _op, _parameters, _lossScale);
            if (_stagePacks)
            {
                long pm = StepProfile.Start();
                GemmArgs part = ws.ProductArgs(in _packNext, _parameters, false);
                SgemmDriver.PackPartA(in part, _sharedA!.Pointer, _rowSlots, _partRow0[itemIndex], _width, _precision);
                StepProfile.Lap(_packNext.ProductPhase, ref pm); // the product's time, as when it packed A itself
            }
            _sphereBusyTicks[ws.SphereIndex] += Stopwatch.GetTimestamp() - t0;
            // One writer per sphere: a stage's items are distinct spheres, and stages follow one another.
            _counters.StageRuns[ws.SphereIndex]++;
            if (_control is not null && workerIndex != _control.ParallelOwnerOf(itemIndex, _spheres.Length)) _counters.StageSteals[ws.SphereIndex]++;
            if (_op.Stage == SphereStage.Embedding && (uint)workerIndex < (uint)_workerSphereRuns.Length) _workerSphereRuns[workerIndex]++;
            StepProfile.ChargeWorker(workerIndex, c0);
            StepProfile.ItemEnd(workerIndex, w0);
            return;
        }
        int n0 = itemIndex * _columnsPerItem, n1 = Math.Min(_columns, n0 + _columnsPerItem);
        if (_bias != null)
        {
            // The forward's output starts at the bias (β = 1), as Linear.Forward's does: same bits.
            var bias = new ReadOnlySpan<float>(_bias + n0, n1 - n0);
            foreach (ref readonly GemmArgs g in _parts.AsSpan())
                for (int r = 0; r < g.M; r++) bias.CopyTo(new Span<float>(g.C + (long)r * g.Ldc + n0, n1 - n0));
        }
        long p0 = Stopwatch.GetTimestamp();
        SgemmDriver.ComputeColumnsOfParts(_parts, n0, n1, _width, _precision, _productAPacked ? _sharedA!.Pointer : null);
        _counters.AddProductTicks(Stopwatch.GetTimestamp() - p0);
        StepProfile.ChargeWorker(workerIndex, c0);
        StepProfile.Lap(_op.ProductPhase, ref c0);
        StepProfile.ItemEnd(workerIndex, w0);
    }
}

/// <summary>
/// What the lockstep pass counts for the hierarchy statistics, which the scheduler's per-sphere counters (kept per
/// epoch) cannot show there: per sphere index, the stage items run and those run by a worker other than the one whose
/// block they were dealt to (stolen); and the busy time of the weight products, which serve all spheres at once.
/// </summary>
internal sealed class LockstepCounters(int sphereCount)
{
    public long[] StageRuns { get; } = new long[sphereCount];
    public long[] StageSteals { get; } = new long[sphereCount];
    private long _productTicks;

    /// <summary>Stopwatch ticks of product items, summed over workers.</summary>
    public long ProductTicks => Volatile.Read(ref _productTicks);

    public void AddProductTicks(long ticks) => Interlocked.Add(ref _productTicks, ticks);

    public void Reset()
    {
        Array.Clear(StageRuns);
        Array.Clear(StageSteals);
        Volatile.Write(ref _productTicks, 0);
    }
}
