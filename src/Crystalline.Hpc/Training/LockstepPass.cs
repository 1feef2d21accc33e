using System.Diagnostics;
using Crystalline.Hpc.Kernels.Gemm;
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
internal sealed unsafe class LockstepPass : IParallelWork
{
    private readonly SphereWorkspace[] _spheres;
    private readonly Kernels.VectorWidth _width;
    private readonly GemmPrecision _precision;
    private readonly int _panelWidth;
    private readonly GemmArgs[] _parts;
    private readonly long[] _sphereBusyTicks;
    private readonly long[] _workerSphereRuns;
    private readonly int _workers;

    // The operation in flight, written by the control thread before each RunParallel.
    private StepOp _op;
    private float* _parameters;
    private float _lossScale;
    private float* _bias;
    private int _columns, _columnsPerItem;
    // Names the product in flight's A operand (the spheres' rows) for the GEMM's per-thread packed-A reuse: a worker
    // running several column items of one product packs the spheres' rows once. Unique in the process.
    private long _productKey;
    private static long s_lastProductKey;

    /// <param name="spheres">The spheres with rows, in index order.</param>
    /// <param name="workers">The executor's worker count (sizes the column blocks).</param>
    /// <param name="sphereBusyTicks">Per sphere index: time in stages is added here.</param>
    /// <param name="workerSphereRuns">Per worker: spheres it embedded (one per sphere and pass).</param>
    /// <exception cref="NotSupportedException">the GEMM at the spheres' precision does not pack (the scalar reference).</exception>
    public LockstepPass(SphereWorkspace[] spheres, int workers, long[] sphereBusyTicks, long[] workerSphereRuns)
    {
        _spheres = spheres;
        _width = Kernels.KernelDispatch.Resolve(Kernels.VectorWidth.Auto);
        _precision = spheres[0].Precision;
        _panelWidth = SgemmDriver.PanelWidth(_width, _precision);
        if (_panelWidth == 0) throw new NotSupportedException("the lockstep products need a GEMM that packs its operands");
        _parts = new GemmArgs[spheres.Length];
        _workers = Math.Max(1, workers);
        _sphereBusyTicks = sphereBusyTicks;
        _workerSphereRuns = workerSphereRuns;
    }

    /// <summary>Runs <paramref name="program"/> on every sphere against the weights at <paramref name="parameters"/>.</summary>
    public void Run(ReadOnlySpan<StepOp> program, float* parameters, float lossScale, ISphereExecutor executor)
    {
        _parameters = parameters;
        _lossScale = lossScale;
        foreach (SphereWorkspace ws in _spheres) ws.UsePackedWeights(null);
        try
        {
            foreach (StepOp op in program)
            {
                _op = op;
                if (!op.IsProduct)
                {
                    long region = StepProfile.RegionStart(executor.WorkerCount);
                    executor.RunParallel(this, _spheres.Length);
                    StepProfile.RegionEnd(StepRegion.Stage, region, executor.WorkerCount);
                    continue;
                }
                _bias = _spheres[0].ProductBias(in op, parameters);
                for (int s = 0; s < _spheres.Length; s++) _parts[s] = _spheres[s].ProductArgs(in op, parameters, startsAtBias: _bias != null);
                _columns = _parts[0].N;
                _columnsPerItem = ColumnsPerItem(_columns, _panelWidth, _precision, _workers);
                _productKey = Interlocked.Increment(ref s_lastProductKey);
                long productRegion = StepProfile.RegionStart(executor.WorkerCount);
                executor.RunParallel(this, (_columns + _columnsPerItem - 1) / _columnsPerItem);
                StepProfile.RegionEnd(StepRegion.Product, productRegion, executor.WorkerCount);
            }
        }
        finally
        {
            Array.Clear(_parts); // drop the pointers into the arenas
            _bias = null;
            _parameters = null;
        }
    }

    /// <summary>
    /// Columns per item of a product with <paramref name="n"/> columns: whole panels, no more than one NC block
    /// (the block times the KC slice must stay in L2 while every sphere's rows pass), and a multiple of the
    /// worker count where there are panels enough, so the workers get equal shares.
    /// </summary>
    /// <remarks>
    /// Every item packs all the spheres' rows of A for itself, and A is large where N is small (the backward's
    /// dinput: N = C, A = doutput with K up to Vp), so no more items than that: at B=4, T=64 on 2 threads, four
    /// items of 192 columns instead of two of 384 cost the backward products ~15% more CPU time (A streamed
    /// twice as often).
    /// </remarks>
    internal static int ColumnsPerItem(int n, int panelWidth, GemmPrecision precision, int workers)
    {
        int panels = (n + panelWidth - 1) / panelWidth;
        int blockPanels = Math.Max(1, GemmBlocking.Columns(precision) / panelWidth);
        int items = Math.Max((panels + blockPanels - 1) / blockPanels, workers);
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
            _sphereBusyTicks[ws.SphereIndex] += Stopwatch.GetTimestamp() - t0;
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
        SgemmDriver.ComputeColumnsOfParts(_parts, n0, n1, _width, _precision, _productKey);
        StepProfile.ChargeWorker(workerIndex, c0);
        StepProfile.Lap(_op.ProductPhase, ref c0);
        StepProfile.ItemEnd(workerIndex, w0);
    }
}
