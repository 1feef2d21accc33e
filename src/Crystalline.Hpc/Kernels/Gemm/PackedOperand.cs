using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// The B operand of many GEMMs, packed once: op(B) (k×n) laid out exactly as the driver packs it for
/// its kernel — KC-deep slices, each cut into NR-column micro-panels, k-major, zero-padded to whole
/// panels. A GEMM given this operand skips packing B and computes the same bits as one that packs it.
/// Why: the trainer multiplies every weight matrix by each sphere's few rows (m = 64 at B=4, T=64),
/// where packing B is 20–27% of a GEMM; the weights change once per step, so they are packed once per
/// step instead of once per sphere and use.
/// </summary>
/// <remarks>The layout depends on <see cref="GemmBlocking.Depth"/> and on the kernel of the width, both fixed
/// for the process; a GEMM at another width refuses the operand.</remarks>
internal sealed unsafe class PackedOperand : IDisposable
{
    private readonly AlignedBuffer<float> _data;

    /// <summary>Room for op(B) of <paramref name="k"/>×<paramref name="n"/> packed for the kernel of <paramref name="width"/>.</summary>
    /// <param name="k">Rows of op(B) (the GEMM's inner dimension).</param>
    /// <param name="n">Columns of op(B).</param>
    /// <param name="transB">True when B is stored n×k (op(B) = Bᵀ), as a Linear layer's weight is for its forward.</param>
    /// <param name="width">The width the GEMMs will run at (Auto: the widest accelerated).</param>
    /// <param name="precision">The GEMMs' arithmetic: bf16 packs two k per 32-bit slot, rounded once here.</param>
    /// <exception cref="ArgumentOutOfRangeException">k or n not positive, or an unknown precision.</exception>
    /// <exception cref="NotSupportedException">the width's GEMM is the scalar reference, which does not pack.</exception>
    public PackedOperand(int k, int n, bool transB, VectorWidth width = VectorWidth.Auto, GemmPrecision precision = GemmPrecision.Fp32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        GemmPrecisions.Check(precision);
        Width = KernelDispatch.Resolve(width);
        Precision = precision;
        PanelWidth = SgemmDriver.PanelWidth(Width, precision);
        if (PanelWidth == 0) throw new NotSupportedException("the scalar GEMM does not pack its operands");
        K = k;
        N = n;
        TransB = transB;
        Depth = GemmBlocking.Depth(precision);
        PaddedColumns = (n + PanelWidth - 1) / PanelWidth * PanelWidth;
        _data = new AlignedBuffer<float>(PaddedColumns * (long)SgemmDriver.PanelSteps(k, precision));
    }

    public int K { get; }
    public int N { get; }
    public bool TransB { get; }
    public VectorWidth Width { get; }
    public GemmPrecision Precision { get; }

    /// <summary>NR of the kernel the layout is for.</summary>
    public int PanelWidth { get; }

    /// <summary>KC the layout was cut with.</summary>
    public int Depth { get; }

    /// <summary>N rounded up to whole panels: the floats per k row of the packed data.</summary>
    public long PaddedColumns { get; }

    internal float* Data => _data.Pointer;

    /// <summary>Bytes the packed data holds.</summary>
    public long ByteLength => _data.ByteLength;

    /// <summary>
    /// Packs <paramref name="b"/> (stored k×n, or n×k with transB, leading dimension <paramref name="ldb"/>),
    /// split over <paramref name="executor"/>'s workers by column blocks (null: the calling thread).
    /// </summary>
    /// <exception cref="ArgumentException">ldb too small or b too short for the shape.</exception>
    public void Pack(ReadOnlySpan<float> b, int ldb, ISphereExecutor? executor = null)
    {
        Sgemm.Validate(false, TransB, 1, N, K, K, Math.Max(1, K), b.Length, ldb, N, Math.Max(1, N));
        fixed (float* pb = b)
        {
            var work = new PackWork(this, pb, ldb);
            if (executor is null || executor.WorkerCount == 1) for (int i = 0; i < work.Items; i++) work.ExecuteItem(i, 0);
            else executor.RunParallel(work, work.Items);
        }
    }

    /// <summary>Packs part <paramref name="part"/> of <paramref name="parts"/> (a block of whole panels, every k
    /// slice of it) from <paramref name="b"/>: the parts together pack the whole operand, each independently.</summary>
    internal void PackPart(float* b, int ldb, int part, int parts)
    {
        long panels = PaddedColumns / PanelWidth;
        int j0 = (int)(panels * part / parts) * PanelWidth;
        int j1 = Math.Min(N, (int)(panels * (part + 1) / parts) * PanelWidth);
        if (j0 >= j1) return;
        var g = new GemmArgs(false, TransB, 1, N, K, 1f, null, 1, b, ldb, 0f, null, 1);
        for (int pc = 0; pc < K; pc += Depth)
        {
            int kc = Math.Min(Depth, K - pc);
            float* dst = Data + SgemmDriver.PanelSteps(pc, Precision) * PaddedColumns + (long)j0 * SgemmDriver.PanelSteps(kc, Precision);
            GemmPacking.PackB(in g, pc, kc, j0, j1 - j0, PanelWidth, dst, Precision);
        }
    }

    public void Dispose() => _data.Dispose();

    // Items of whole panels, about 16 per worker's worth so stealing can balance. Allocated per call:
    // packing happens once per optimizer step, not per GEMM.
    private sealed class PackWork(PackedOperand op, float* b, int ldb) : IParallelWork
    {
        public int Items { get; } = (int)Math.Min(op.PaddedColumns / op.PanelWidth, 64);

        public void ExecuteItem(int itemIndex, int workerIndex) => op.PackPart(b, ldb, itemIndex, Items);
    }
}
