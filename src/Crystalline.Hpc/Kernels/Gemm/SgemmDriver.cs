using System.Runtime.CompilerServices;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>Chooses the kernel for a width and splits the columns of C across workers.</summary>
internal static class SgemmDriver
{
    /// <summary>The NR (panel width) of the kernel <see cref="Run(in GemmArgs, VectorWidth, ISphereExecutor?)"/> uses at <paramref name="width"/>; 0 for the scalar reference.</summary>
    public static int PanelWidth(VectorWidth width) => width switch
    {
        VectorWidth.V512 => MicroKernel512.NR,
        VectorWidth.V256 => MicroKernel256.NR,
        VectorWidth.V128 => MicroKernel128.NR,
        _ => 0,
    };

    /// <summary>NR of the kernel for <paramref name="precision"/> at <paramref name="width"/> (bf16: one kernel, any width).</summary>
    public static int PanelWidth(VectorWidth width, GemmPrecision precision) =>
        precision == GemmPrecision.Bf16 ? MicroKernelBf16.NR : PanelWidth(width);

    /// <summary>Slots per panel row a k extent of <paramref name="kc"/> takes (bf16 packs two k per slot).</summary>
    public static int PanelSteps(int kc, GemmPrecision precision) => precision == GemmPrecision.Bf16 ? Bf16Packing.Steps(kc) : kc;

    public static void Run(in GemmArgs g, VectorWidth width, ISphereExecutor? executor, GemmPrecision precision)
    {
        if (precision == GemmPrecision.Bf16) BlockedGemm<MicroKernelBf16>.Run(in g, executor);
        else Run(in g, width, executor);
    }

    /// <summary>Columns [n0, n1) of products sharing one pre-packed operand of <paramref name="width"/> and
    /// <paramref name="precision"/> (see <see cref="BlockedGemm{TK}.ComputeColumnsOfParts"/>; <paramref name="packedA"/> there).</summary>
    /// <exception cref="NotSupportedException">the scalar reference, which does not pack.</exception>
    public static unsafe void ComputeColumnsOfParts(ReadOnlySpan<GemmArgs> parts, int n0, int n1, VectorWidth width, GemmPrecision precision,
        float* packedA = null)
    {
        if (precision == GemmPrecision.Bf16) { BlockedGemm<MicroKernelBf16>.ComputeColumnsOfParts(parts, n0, n1, packedA); return; }
        switch (width)
        {
            case VectorWidth.V512: BlockedGemm<MicroKernel512>.ComputeColumnsOfParts(parts, n0, n1, packedA); break;
            case VectorWidth.V256: BlockedGemm<MicroKernel256>.ComputeColumnsOfParts(parts, n0, n1, packedA); break;
            case VectorWidth.V128: BlockedGemm<MicroKernel128>.ComputeColumnsOfParts(parts, n0, n1, packedA); break;
            default: throw new NotSupportedException("the scalar GEMM does not use packed operands");
        }
    }

    /// <summary>MR (rows per A micro-panel) of the kernel <see cref="ComputeColumnsOfParts"/> runs at <paramref name="width"/> and
    /// <paramref name="precision"/>; 0 for the scalar reference.</summary>
    public static int PanelRows(VectorWidth width, GemmPrecision precision) => precision == GemmPrecision.Bf16 ? MicroKernelBf16.MR : width switch
    {
        VectorWidth.V512 => MicroKernel512.MR,
        VectorWidth.V256 => MicroKernel256.MR,
        VectorWidth.V128 => MicroKernel128.MR,
        _ => 0,
    };

    /// <summary>Floats of the shared packed-A layout of <see cref="ComputeColumnsOfParts"/> for <paramref name="rowSlots"/> rows
    /// (every part's rows rounded up to whole micro-panels, summed) and inner dimension <paramref name="k"/>.</summary>
    public static long PackedPartsFloats(long rowSlots, int k, GemmPrecision precision) => rowSlots * PanelSteps(k, precision);

    /// <summary>Packs all of K of one part's A (rows [0, M) of op(A)) into the shared packed-A layout of
    /// <see cref="ComputeColumnsOfParts"/>, at row slot <paramref name="partRow0"/> of <paramref name="rowSlots"/>.</summary>
    /// <exception cref="NotSupportedException">the scalar reference, which does not pack.</exception>
    public static unsafe void PackPartA(in GemmArgs part, float* packedA, long rowSlots, long partRow0, VectorWidth width, GemmPrecision precision)
    {
        if (precision == GemmPrecision.Bf16) { BlockedGemm<MicroKernelBf16>.PackPartA(in part, packedA, rowSlots, partRow0); return; }
        switch (width)
        {
            case VectorWidth.V512: BlockedGemm<MicroKernel512>.PackPartA(in part, packedA, rowSlots, partRow0); break;
            case VectorWidth.V256: BlockedGemm<MicroKernel256>.PackPartA(in part, packedA, rowSlots, partRow0); break;
            case VectorWidth.V128: BlockedGemm<MicroKernel128>.PackPartA(in part, packedA, rowSlots, partRow0); break;
            default: throw new NotSupportedException("the scalar GEMM does not use packed operands");
        }
    }

    public static void Run(in GemmArgs g, VectorWidth width, ISphereExecutor? executor)
    {
        switch (width)
        {
            case VectorWidth.V512: BlockedGemm<MicroKernel512>.Run(in g, executor); break;
            case VectorWidth.V256: BlockedGemm<MicroKernel256>.Run(in g, executor); break;
            case VectorWidth.V128: BlockedGemm<MicroKernel128>.Run(in g, executor); break;
            default: SgemmReference.Multiply(in g, 0, g.N); break;
        }
    }
}

/// <summary>
/// The Goto/BLIS loop nest around one micro-kernel. For each block of rows, op(A) is packed once for
/// all of K into MR-row micro-panels (one KC slice after another; shared by every worker). Then each
/// worker takes a range of columns and, for each KC slice and NC block of columns, packs KC×NC of
/// op(B) into NR-column micro-panels of its own and runs the micro-kernel over every MR×NR tile:
/// A micro-panel outer (it stays in L1), B micro-panels inner (streamed from L2).
/// </summary>
/// <remarks>
/// Workers split the columns at multiples of NR, so every element of C is computed by one worker with
/// the same tiles and the same k order whatever the worker count: the result is bitwise the same.
/// A parallel call synchronises twice per row block (pack, compute); the GPT-2 shapes have one block.
/// </remarks>
internal static unsafe class BlockedGemm<TK> where TK : struct, IMicroKernel
{
    /// <summary>Below this many multiply-adds a second thread costs more than it saves.</summary>
    private const long ParallelThreshold = 1L << 20;

    /// <summary>
    /// Most column items per worker: more than one lets a work-stealing executor rebalance when a worker
    /// is slowed; but an item narrower than a few panels re-streams packed A for little work.
    /// </summary>
    private const int MaxItemsPerWorker = 4;

    /// <summary>Fewest NR panels per column item.</summary>
    private const int MinPanelsPerItem = 4;

    /// <param name="g">The product.</param>
    /// <param name="executor">Workers to split the columns over (null: the calling thread).</param>
    /// <param name="packedAFloats">The packed-A budget (default <see cref="GemmBlocking.PackedAFloats"/>; tests force
    /// small values to exercise the k split).</param>
    public static void Run(in GemmArgs g, ISphereExecutor? executor, long packedAFloats = -1)
    {
        int mr = TK.MR;
        long budget = packedAFloats < 0 ? GemmBlocking.PackedAFloats : packedAFloats;
        int mcMax = (int)Math.Clamp(budget / g.K / mr * mr, mr, int.MaxValue);
        // A long k with more rows than one packed-A block holds: every block of rows would pack all of B
        // again (the LM head's dinput: k = 50304, B = wte, 154 MB, packed for each of two blocks of 36 rows).
        // Split k at multiples of KC instead, so that all rows fit one block and B is packed once. Same bits:
        // each element is summed over KC slices in order, the first with β and the later ones with β = 1,
        // which is exactly what chaining the chunks, the first with β and the others with β = 1, computes.
        if (g.M > mcMax && g.K > KC)
        {
            long fit = budget / ((long)g.M + mr - 1);
            int chunk = (int)Math.Clamp(fit / KC * KC, KC, g.K);
            if (chunk < g.K)
            {
                for (int k0 = 0; k0 < g.K; k0 += chunk)
                {
                    GemmArgs part = KChunk(in g, k0, Math.Min(chunk, g.K - k0));
                    Run(in part, executor, budget);
                }
                return;
            }
        }
        int panels = (g.N + TK.NR - 1) / TK.NR;
        int items = 1;
        if (executor is not null && executor.WorkerCount > 1 && (long)g.M * g.N * g.K >= ParallelThreshold)
        {
            int workers = executor.WorkerCount;
            int perWorker = Math.Clamp(panels / (workers * MinPanelsPerItem), 1, MaxItemsPerWorker);
            items = (int)Math.Min((long)workers * perWorker, panels);
        }
        int mcFirst = Math.Min(mcMax, g.M);
        // The packed A block lives in the calling thread's scratch and is read by every worker.
        float* packA = GemmScratch.Current.PackA((long)(mcFirst + mr - 1) / mr * mr * g.K);
        GemmWork<TK>? work = items > 1 ? GemmWork<TK>.Begin(in g, items, panels, packA) : null;
        try
        {
            for (int ic = 0; ic < g.M; ic += mcMax)
            {
                int mc = Math.Min(mcMax, g.M - ic);
                if (work is null)
                {
                    PackABlock(in g, ic, mc, 0, (mc + mr - 1) / mr, packA);
                    ComputeColumns(in g, ic, mc, packA, 0, g.N);
                }
                else
                {
                    work.SetBlock(ic, mc);
                    work.Packing = true;
                    executor!.RunParallel(work, items);
                    work.Packing = false;
                    executor.RunParallel(work, items);
                }
            }
        }
        finally
        {
            work?.End();
        }
    }

    /// <summary>
    /// k [k0, k0+kn) of the product: op(A)'s columns and op(B)'s rows from k0 (pre-packed B: from its k0
    /// slice, k0 being a multiple of KC); β stays the caller's for the first chunk and is 1 after it.
    /// </summary>
    private static GemmArgs KChunk(in GemmArgs g, int k0, int kn)
    {
        float* a = g.TransA ? g.A + (long)k0 * g.Lda : g.A + k0;
        float* b = g.B == null ? null : g.TransB ? g.B + k0 : g.B + (long)k0 * g.Ldb;
        return new GemmArgs(g.TransA, g.TransB, g.M, g.N, kn, g.Alpha, a, g.Lda, b, g.Ldb, k0 == 0 ? g.Beta : 1f, g.C, g.Ldc)
        {
            PackedB = g.PackedB == null ? null : g.PackedB + Steps(k0) * g.PackedNPad,
            PackedNPad = g.PackedNPad,
        };
    }

    /// <summary>The arithmetic of the kernel: a kernel that pairs k is the bf16 one.</summary>
    private static GemmPrecision Precision => TK.PairsK ? GemmPrecision.Bf16 : GemmPrecision.Fp32;

    /// <summary>Slots per panel row for a k extent of <paramref name="kc"/>: kc, or ⌈kc/2⌉ for a kernel that pairs k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Steps(int kc) => SgemmDriver.PanelSteps(kc, Precision);

    /// <summary>The kernel's KC.</summary>
    private static int KC => GemmBlocking.Depth(Precision);

    /// <summary>Where the KC slice starting at <paramref name="pc"/> of a packed A block of <paramref name="mc"/> rows begins
    /// (pc is a multiple of KC, which is even, so a pairing kernel's earlier slices take pc/2 steps).</summary>
    private static long SliceOffset(int mc, int pc) => (long)(mc + TK.MR - 1) / TK.MR * TK.MR * Steps(pc);

    /// <summary>Packs micro-panels [panel0, panel1) of rows [ic, ic+mc) for every KC slice of K.</summary>
    public static void PackABlock(in GemmArgs g, int ic, int mc, int panel0, int panel1, float* packA)
    {
        int mr = TK.MR, kcMax = KC;
        int first = panel0 * mr, last = Math.Min(mc, panel1 * mr);
        if (first >= last) return;
        for (int pc = 0; pc < g.K; pc += kcMax)
        {
            int kc = Math.Min(kcMax, g.K - pc);
            GemmPacking.PackA(in g, ic + first, last - first, pc, kc, mr, packA + SliceOffset(mc, pc) + (long)first * Steps(kc), Precision);
        }
    }

    /// <summary>
    /// Columns [n0, n1) of C for rows [ic, ic+mc), whose packed A block is <paramref name="packA"/>.
    /// n0 is a multiple of NR, so tiles line up whatever the split.
    /// </summary>
    public static void ComputeColumns(in GemmArgs g, int ic, int mc, float* packA, int n0, int n1)
    {
        int mr = TK.MR, nr = TK.NR, kcMax = KC;
        int ncMax = GemmBlocking.Columns(Precision) / nr * nr;
        var scratch = GemmScratch.Current;
        float* packB = scratch.PackB, tile = scratch.Tile;
        long ldc = g.Ldc;
        bool prepacked = g.PackedB != null;
        for (int pc = 0; pc < g.K; pc += kcMax)
        {
            int kc = Math.Min(kcMax, g.K - pc);
            int steps = Steps(kc);
            float* aSlice = packA + SliceOffset(mc, pc);
            // Later k slices add onto what the first one wrote.
            float beta = pc == 0 ? g.Beta : 1f;
            for (int jc = n0; jc < n1; jc += ncMax)
            {
                int nc = Math.Min(ncMax, n1 - jc);
                // A pre-packed operand holds exactly the panels PackB would write here (same KC, NR, padding).
                float* blockB = prepacked ? g.PackedB + Steps(pc) * g.PackedNPad + (long)jc * steps : packB;
                if (!prepacked) GemmPacking.PackB(in g, pc, kc, jc, nc, nr, packB, Precision);
                MultiplyBlock(kc, aSlice, mc, blockB, nc, g.C + ic * ldc + jc, ldc, g.Alpha, beta, tile);
            }
        }
    }

    /// <summary>
    /// Columns [n0, n1) of several products that share one op(B) (the same B, K and N; each part its own rows, A,
    /// C, α and β): for each KC slice every part's A slice is packed into this thread's scratch, then each NC block
    /// of B — packed here from B, or taken from a pre-packed operand — is multiplied by every part in turn, so the
    /// block comes from memory once for all the parts and stays in L2 for the others (the trainer's lockstep pass:
    /// four spheres of 64 rows read each weight once instead of four times). n0 is a multiple of NR. Each element
    /// gets the tiles and the k order of <see cref="ComputeColumns"/>, so the result is bitwise that of running the
    /// parts one by one.
    /// </summary>
    /// <param name="parts">The products (the same B, K and N).</param>
    /// <param name="n0">First column (a multiple of NR).</param>
    /// <param name="n1">End of the columns.</param>
    /// <param name="packedA">Null, or every part's A already packed for all of K (<see cref="PackPartA"/>): KC slice pc at
    /// rowSlots·Steps(pc), the parts in order within it, each rounded up to whole micro-panels; then nothing is packed.</param>
    public static void ComputeColumnsOfParts(ReadOnlySpan<GemmArgs> parts, int n0, int n1, float* packedA = null)
    {
        if (parts.IsEmpty || n0 >= n1) return;
        int mr = TK.MR, nr = TK.NR, kcMax = KC;
        int ncMax = GemmBlocking.Columns(Precision) / nr * nr;
        ref readonly GemmArgs first = ref parts[0];
        int k = first.K;
        float* packedB = first.PackedB;
        long nPad = first.PackedNPad;
        long rowSlots = 0;
        foreach (ref readonly GemmArgs g in parts)
        {
            if (g.K != k || g.N != first.N || g.PackedB != packedB || (packedB == null && (g.B != first.B || g.Ldb != first.Ldb || g.TransB != first.TransB)))
                throw new ArgumentException("the parts must share one B operand", nameof(parts));
            rowSlots += (long)(g.M + mr - 1) / mr * mr;
        }
        var scratch = GemmScratch.Current;
        // Pre-packed: every KC slice in place; otherwise each slice is packed here into the same scratch.
        bool packed = packedA != null;
        float* packA = packed ? packedA : scratch.PackA(rowSlots * Steps(kcMax));
        float* packB = scratch.PackB, tile = scratch.Tile;
        for (int pc = 0; pc < k; pc += kcMax)
        {
            int kc = Math.Min(kcMax, k - pc);
            int steps = Steps(kc);
            float* aSlice = packed ? packA + rowSlots * Steps(pc) : packA;
            float* aPart = aSlice;
            foreach (ref readonly GemmArgs g in parts)
            {
                if (g.M > 0 && !packed) GemmPacking.PackA(in g, 0, g.M, pc, kc, mr, aPart, Precision);
                aPart += (long)(g.M + mr - 1) / mr * mr * steps;
            }
            for (int jc = n0; jc < n1; jc += ncMax)
            {
                int nc = Math.Min(ncMax, n1 - jc);
                float* blockB = packedB != null ? packedB + Steps(pc) * nPad + (long)jc * steps : packB;
                if (packedB == null) GemmPacking.PackB(in first, pc, kc, jc, nc, nr, packB, Precision);
                aPart = aSlice;
                foreach (ref readonly GemmArgs g in parts)
                {
                    // Later k slices add onto what the first one wrote.
                    MultiplyBlock(kc, aPart, g.M, blockB, nc, g.C + jc, g.Ldc, g.Alpha, pc == 0 ? g.Beta : 1f, tile);
                    aPart += (long)(g.M + mr - 1) / mr * mr * steps;
                }
            }
        }
    }

    /// <summary>All of K of one part's A into the shared layout of <see cref="ComputeColumnsOfParts"/> (parameter packedA), at row
    /// slot <paramref name="partRow0"/> of <paramref name="rowSlots"/>.</summary>
    public static void PackPartA(in GemmArgs g, float* packedA, long rowSlots, long partRow0)
    {
        if (g.M == 0) return;
        for (int pc = 0; pc < g.K; pc += KC)
        {
            int kc = Math.Min(KC, g.K - pc);
            GemmPacking.PackA(in g, 0, g.M, pc, kc, TK.MR, packedA + rowSlots * Steps(pc) + partRow0 * Steps(kc), Precision);
        }
    }

    /// <summary>
    /// C[0, rows) × [0, cols) (at <paramref name="c"/>, leading dimension <paramref name="ldc"/>) from one packed
    /// KC slice of A (<paramref name="rows"/> rows in MR micro-panels) and one packed block of B (<paramref name="cols"/>
    /// columns in NR micro-panels): A micro-panel outer (it stays in L1), B micro-panels inner; partial tiles
    /// through <see cref="EdgeTile"/>, so every tile runs the same kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyBlock(int kc, float* packedA, int rows, float* packedB, int cols, float* c, long ldc, float alpha, float beta, float* tile)
    {
        int mr = TK.MR, nr = TK.NR, steps = Steps(kc);
        for (int ir = 0; ir < rows; ir += mr)
        {
            int mrValid = Math.Min(mr, rows - ir);
            float* ap = packedA + (long)ir * steps;
            float* crow = c + ir * ldc;
            for (int jr = 0; jr < cols; jr += nr)
            {
                int nrValid = Math.Min(nr, cols - jr);
                float* bp = packedB + (long)jr * steps;
                if (mrValid == mr && nrValid == nr)
                    TK.Run(kc, ap, bp, crow + jr, (nint)ldc, alpha, beta);
                else
                    EdgeTile(kc, ap, bp, crow + jr, ldc, mrValid, nrValid, alpha, beta, tile);
            }
        }
    }

    /// <summary>
    /// A partial tile: the same kernel on a staging tile, so its arithmetic is identical to a full
    /// tile's, then only the valid part is copied back.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void EdgeTile(int kc, float* ap, float* bp, float* c, long ldc, int rows, int cols,
        float alpha, float beta, float* tile)
    {
        int nr = TK.NR;
        if (beta != 0f)
        {
            for (int r = 0; r < rows; r++)
                Unsafe.CopyBlockUnaligned(tile + r * nr, c + r * ldc, (uint)(cols * sizeof(float)));
        }
        TK.Run(kc, ap, bp, tile, nr, alpha, beta);
        for (int r = 0; r < rows; r++)
            Unsafe.CopyBlockUnaligned(c + r * ldc, tile + r * nr, (uint)(cols * sizeof(float)));
    }
}

/// <summary>
/// One parallel GEMM's two phases per row block: packing (item t packs its share of the A micro-panels
/// into the shared buffer) and computing (item t takes a contiguous range of column panels). One
/// instance per calling thread, reused, so a parallel call allocates nothing after the first.
/// </summary>
internal sealed unsafe class GemmWork<TK> : IParallelWork where TK : struct, IMicroKernel
{
    [ThreadStatic] private static GemmWork<TK>? t_instance;

    private GemmArgs _args;
    private int _items, _panels;
    private float* _packA;
    private int _ic, _mc;

    public bool Packing { get; set; }

    public static GemmWork<TK> Begin(in GemmArgs g, int items, int panels, float* packA)
    {
        var work = t_instance ??= new GemmWork<TK>();
        work._args = g;
        work._items = items;
        work._panels = panels;
        work._packA = packA;
        return work;
    }

    public void SetBlock(int ic, int mc) => (_ic, _mc) = (ic, mc);

    /// <summary>Drops the pointers into the caller's pinned spans.</summary>
    public void End()
    {
        _args = default;
        _packA = null;
    }

    public void ExecuteItem(int itemIndex, int workerIndex)
    {
        if (Packing)
        {
            int aPanels = (_mc + TK.MR - 1) / TK.MR;
            int p0 = (int)((long)aPanels * itemIndex / _items);
            int p1 = (int)((long)aPanels * (itemIndex + 1) / _items);
            BlockedGemm<TK>.PackABlock(in _args, _ic, _mc, p0, p1, _packA);
            return;
        }
        int n0 = (int)((long)_panels * itemIndex / _items) * TK.NR;
        int n1 = Math.Min(_args.N, (int)((long)_panels * (itemIndex + 1) / _items) * TK.NR);
        if (n0 < n1) BlockedGemm<TK>.ComputeColumns(in _args, _ic, _mc, _packA, n0, n1);
    }
}
