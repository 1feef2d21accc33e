using System.Runtime.Intrinsics.X86;
using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Training;

/// <summary>
/// The weight matrices' share of the tree reduction, fused with the GEMMs that make their gradients.
/// Each sphere's dW = doutputᵀ·input (k = its tokens) is computed one block of 48 rows at a time, and
/// the spheres' blocks are added in the reduction plan's order while they are in cache; only the
/// root's gradient buffer receives the sum. The token embedding's rows (the LM head's dW plus the
/// embedding's scattered rows) are summed the same way.
/// </summary>
/// <remarks>
/// Why: at gpt2-124M every sphere otherwise writes 498 MB of gradients that the reduction reads back
/// (B=4: ≈ 2.5 GB of a step's ≈ 10 GB of memory traffic, counted from the buffer sizes), which the two
/// cores share while the GEMMs scale, and holds them. Measured (docs/training.md, fourth session): B=4,
/// T=64 on 2 threads 1,193 against 1,342 ms/step, 3.4 against 4.7 GB; at 256 tokens per sphere the
/// spheres' own dW GEMMs are faster, so the trainer fuses only up to 128. Bits: each sphere's block is the same GEMM on the same values with the same k order as the
/// sphere's own full dW GEMM (an element's sum does not depend on the rows beside it), the embedding
/// rows follow in the same token order, and the blocks are added in plan order — so the result equals
/// the per-sphere buffers' tree reduction bit for bit (tested), for any worker count.
/// Memory: per thread, as many block-sized slots as the plan keeps alive at once (one for a flat plan).
/// </remarks>
internal sealed unsafe class FusedWeightGradients : IParallelWork
{
    /// <summary>Rows of dW per item: a multiple of the kernels' MR (6) that divides every gpt2 matrix's rows.</summary>
    internal const int BlockRows = 48;

    private const int NotComputed = -1;

    private readonly SphereWorkspace?[] _spheres;
    private readonly int[] _active, _planDst, _planSrc;
    // Per plan entry: the source's block may be accumulated straight into the destination by its GEMM
    // (β = 1) — it has no additions of its own and its k fits one KC slice, so C + acc is exactly the
    // addition of its finished block (one rounding either way).
    private readonly bool[] _direct;
    private readonly int _root, _channels;
    private readonly Item[] _items;
    private readonly int _slotCount;
    private readonly long _slotFloats;
    private float* _gradient;

    // Per thread, not per worker index: an executor may run two items under one index at once (the tests'
    // thread-pool executor does); GemmScratch is per thread for the same reason.
    [ThreadStatic] private static Scratch? t_scratch;

    private sealed class Scratch
    {
        public AlignedBuffer<float>? Slots;
        public int[] State = [];  // per sphere: NotComputed or its slot
        public int[] Free = [];   // stack of free slots

        public void Ensure(long slotFloats, int spheres, int slots)
        {
            if (slots > 0 && (Slots is null || Slots.Length < slotFloats)) { Slots?.Dispose(); Slots = new AlignedBuffer<float>(slotFloats); }
            if (State.Length < spheres) State = new int[spheres];
            if (Free.Length < slots) Free = new int[slots];
        }
    }

    private readonly record struct Item(ParameterTensor Tensor, int Layer, long Offset, int Row0, int Rows, int Columns, int OutChannels);

    /// <param name="spheres">The trainer's spheres (deferred weight gradients).</param>
    /// <param name="active">Spheres with rows, ascending.</param>
    /// <param name="planDst">The reduction plan's destinations, in execution order (level by level, bottom up).</param>
    /// <param name="planSrc">The reduction plan's sources.</param>
    /// <param name="root">The sphere whose buffer holds the reduced gradient.</param>
    /// <param name="layout">The parameter layout.</param>
    public FusedWeightGradients(SphereWorkspace?[] spheres, int[] active, int[] planDst, int[] planSrc, int root, ParameterLayout layout)
    {
        _spheres = spheres;
        _active = active;
        _root = root;
        GptConfig cfg = layout.Config;
        int C = cfg.Channels;
        _channels = C;
        var items = new List<Item>();
        void Add(ParameterTensor t, int layer)
        {
            var (outChannels, inChannels) = layout.MatrixShape(t);
            for (int r = 0; r < outChannels; r += BlockRows)
                items.Add(new Item(t, layer, layout.LayerOffset(t, layer), r, Math.Min(BlockRows, outChannels - r), inChannels, outChannels));
        }
        Add(ParameterTensor.Wte, 0);
        for (int l = 0; l < cfg.NumLayers; l++)
        {
            Add(ParameterTensor.QkvW, l);
            Add(ParameterTensor.AttProjW, l);
            Add(ParameterTensor.FcW, l);
            Add(ParameterTensor.FcProjW, l);
        }
        _items = items.ToArray();

        // The plan runs level by level; a block is evaluated subtree by subtree instead (depth first: a
        // child's own additions, then the child added to its parent), which keeps every destination's
        // additions in the plan's order — the same bits — but holds about one partial sum per level alive
        // instead of one per parent. A block lives from its computation until it is added to its parent's.
        var entriesOf = new Dictionary<int, List<int>>();
        for (int k = 0; k < planDst.Length; k++)
        {
            if (!entriesOf.TryGetValue(planDst[k], out var list)) entriesOf[planDst[k]] = list = new List<int>();
            list.Add(planSrc[k]);
        }
        var order = new List<(int Dst, int Src)>();
        void Visit(int x)
        {
            if (!entriesOf.TryGetValue(x, out var sources)) return;
            foreach (int src in sources) { Visit(src); order.Add((x, src)); }
        }
        Visit(root);
        if (order.Count != planDst.Length) throw new ArgumentException("the reduction plan is not a tree under its root", nameof(planDst));
        _planDst = order.Select(e => e.Dst).ToArray();
        _planSrc = order.Select(e => e.Src).ToArray();
        int depth = Kernels.Gemm.GemmBlocking.Depth(spheres[root]!.Precision);
        _direct = _planSrc.Select(src => !entriesOf.ContainsKey(src) && spheres[src]!.RowCount * spheres[src]!.T <= depth).ToArray();
        // The root's block is summed in a slot too and stored to the buffer once, at the end (see ExecuteItem).
        var computed = new HashSet<int> { root };
        int live = 1;
        for (int k = 0; k < _planDst.Length; k++)
        {
            // A direct source still needs a slot in the blocks where the token embedding adds rows to it.
            if (computed.Add(_planDst[k])) live++;
            if (computed.Add(_planSrc[k])) live++;
            _slotCount = Math.Max(_slotCount, live);
            live--; // the source is consumed
        }
        if (planDst.Length == 0) _slotCount = 1;
        _slotFloats = (long)BlockRows * 4 * C;
        _blockSquares = new double[_items.Length];
    }

    private readonly double[] _blockSquares;

    /// <summary>Per block (item), Σ of its reduced gradient's squares after <see cref="Run"/> (<see cref="VectorMath.SumOfSquares"/>
    /// over the block's floats, as the trainer's norm takes it per item).</summary>
    public ReadOnlySpan<double> BlockSquares => _blockSquares;

    /// <summary>The block whose floats are [start, start+length) of the parameter vector.</summary>
    /// <exception cref="ArgumentException">no block covers exactly that range.</exception>
    public int BlockAt(long start, int length)
    {
        for (int i = 0; i < _items.Length; i++)
        {
            Item it = _items[i];
            if (it.Offset + (long)it.Row0 * it.Columns == start && it.Rows * it.Columns == length) return i;
        }
        throw new ArgumentException($"no weight-gradient block covers floats {start} … {start + length}");
    }

    /// <summary>Sizes the calling thread's slots now (run on every worker before the steady state, which then allocates nothing).</summary>
    public void WarmUp() => (t_scratch ??= new Scratch()).Ensure(_slotCount * _slotFloats, _spheres.Length, _slotCount);

    /// <summary>Items of one pass: blocks of every weight matrix's rows.</summary>
    public int ItemCount => _items.Length;

    /// <summary>Block-sized slots each thread holds (the plan's widest point).</summary>
    public int SlotsPerThread => _slotCount;

    /// <summary>Bytes of one thread's slots.</summary>
    public long SlotBytesPerThread => _slotCount * _slotFloats * sizeof(float);

    /// <summary>Writes every weight matrix's reduced gradient into <paramref name="rootGradient"/>, the root sphere's buffer.</summary>
    public void Run(ISphereExecutor executor, float* rootGradient)
    {
        _gradient = rootGradient;
        long region = StepProfile.RegionStart(executor.WorkerCount);
        executor.RunParallel(this, _items.Length);
        StepProfile.RegionEnd(StepRegion.WeightGradients, region, executor.WorkerCount);
        _gradient = null;
    }

    public void ExecuteItem(int itemIndex, int workerIndex)
    {
        long w0 = StepProfile.ItemStart(), tm = StepProfile.Start();
        Item it = _items[itemIndex];
        WarmUp();
        Scratch scratch = t_scratch!;
        int[] state = scratch.State, free = scratch.Free;
        foreach (int s in _active) state[s] = NotComputed;
        for (int i = 0; i < _slotCount; i++) free[i] = _slotCount - 1 - i;
        int freeTop = _slotCount;
        float* block = _gradient + it.Offset + (long)it.Row0 * it.Columns;
        float* slots = scratch.Slots is { } buffer ? buffer.Pointer : null;
        int blockFloats = it.Rows * it.Columns;

        float* Ensure(int s)
        {
            int st = state[s];
            if (st >= 0) return slots + st * _slotFloats;
            int slot = free[--freeTop];
            state[s] = slot;
            float* dst = slots + slot * _slotFloats;
            SphereProduct(_spheres[s]!, in it, dst, accumulate: false);
            return dst;
        }

        float* sum = Ensure(_root);
        for (int k = 0; k < _planDst.Length; k++)
        {
            float* dst = Ensure(_planDst[k]);
            int src = _planSrc[k];
            if (_direct[k] && !(it.Tensor == ParameterTensor.Wte && HasTokenIn(_spheres[src]!, it.Row0, it.Rows)))
            {
                SphereProduct(_spheres[src]!, in it, dst, accumulate: true);
                continue;
            }
            float* add = Ensure(src);
            VectorMath.AddTo(new Span<float>(dst, blockFloats), new ReadOnlySpan<float>(add, blockFloats));
            free[freeTop++] = state[src];
        }
        // The sum is summed in a slot (in L2) and leaves it once: its squares for the norm, then streaming stores
        // into the root's buffer, which the optimizer reads only after the whole pass (the lines would not stay in
        // cache; a plain store would first read every line of the 0.5 GB buffer from memory).
        _blockSquares[itemIndex] = VectorMath.SumOfSquares(new ReadOnlySpan<float>(sum, blockFloats));
        StreamCopy(block, sum, blockFloats);
        StepProfile.ChargeWorker(workerIndex, tm);
        StepProfile.Lap(StepPhase.WeightGradients, ref tm);
        StepProfile.ItemEnd(workerIndex, w0);
    }

    /// <summary>dst[i] = src[i] with non-temporal stores where dst is 64-byte aligned (plain stores for the rest).</summary>
    private static void StreamCopy(float* dst, float* src, int count)
    {
        int i = 0;
        if (Avx512F.IsSupported)
        {
            for (; i < count && ((nint)(dst + i) & 63) != 0; i++) dst[i] = src[i];
            for (; i + 16 <= count; i += 16) Avx512F.StoreAlignedNonTemporal(dst + i, Avx512F.LoadVector512(src + i));
            Sse.StoreFence();
        }
        for (; i < count; i++) dst[i] = src[i];
    }

    private static bool HasTokenIn(SphereWorkspace ws, int row0, int rows)
    {
        foreach (int id in ws.InputTokens) if ((uint)(id - row0) < (uint)rows) return true;
        return false;
    }

    /// <summary>
    /// Rows [Row0, Row0+Rows) of one sphere's dW = doutputᵀ·input into <paramref name="dst"/> (Rows × Columns),
    /// exactly as the sphere's own full GEMM (β = 0) computes them; for the token embedding, then its
    /// rows' embedding gradients in token order, as Embedding.Backward adds them after the LM head's.
    /// <paramref name="accumulate"/>: added onto <paramref name="dst"/> by the GEMM instead (β = 1; the caller
    /// has checked that no embedding row falls in the block).
    /// </summary>
    private void SphereProduct(SphereWorkspace ws, in Item it, float* dst, bool accumulate)
    {
        int tokens = ws.RowCount * ws.T;
        float* a = ws.OutputGradient(it.Tensor, it.Layer) + it.Row0; // dW's rows are doutput's columns
        Sgemm.MultiplyPacked(true, it.Rows, it.Columns, tokens, 1f, new ReadOnlySpan<float>(a, (tokens - 1) * it.OutChannels + it.Rows), it.OutChannels,
            ws.PackedInput(it.Tensor, it.Layer), 0, accumulate ? 1f : 0f, new Span<float>(dst, it.Rows * it.Columns), it.Columns);
        if (it.Tensor != ParameterTensor.Wte || accumulate) return;
        ReadOnlySpan<int> ids = ws.InputTokens;
        ReadOnlySpan<float> encoded = ws.EncodedGradient;
        int C = _channels;
        for (int bt = 0; bt < ids.Length; bt++)
        {
            int row = ids[bt] - it.Row0;
            if ((uint)row < (uint)it.Rows)
                VectorMath.AddTo(new Span<float>(dst + (long)row * C, C), encoded.Slice(bt * C, C));
        }
    }
}
