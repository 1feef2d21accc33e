using System.Runtime.CompilerServices;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>Chooses the kernel for a width and splits the columns of C across workers.</summary>
internal static class SgemmDriver
{
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
/// The Goto/BLIS loop nest around one micro-kernel: for each KC slice of k, pack an MC×KC block of A
/// into MR-row micro-panels, then for each NC block of columns pack KC×NC of B into NR-column
/// micro-panels and run the micro-kernel over every MR×NR tile, A micro-panel outer (it stays in L1)
/// and B micro-panels inner (streamed from L2).
/// </summary>
internal static unsafe class BlockedGemm<TK> where TK : struct, IMicroKernel
{
    /// <summary>Below this many multiply-adds a second thread costs more than it saves.</summary>
    private const long ParallelThreshold = 1L << 18;

    public static void Run(in GemmArgs g, ISphereExecutor? executor)
    {
        int panels = (g.N + TK.NR - 1) / TK.NR;
        int items = executor is null ? 1 : Math.Min(executor.WorkerCount, panels);
        if (items <= 1 || (long)g.M * g.N * g.K < ParallelThreshold)
        {
            RunColumns(in g, 0, g.N);
            return;
        }
        ParallelGemmWork<TK>.Run(executor!, in g, items, panels);
    }

    /// <summary>Computes columns [n0, n1) of C. n0 must be a multiple of NR (so tiles line up for any split).</summary>
    public static void RunColumns(in GemmArgs g, int n0, int n1)
    {
        int mr = TK.MR, nr = TK.NR;
        int kcMax = GemmBlocking.KC, mcMax = GemmBlocking.MC / mr * mr, ncMax = GemmBlocking.NC / nr * nr;
        var scratch = GemmScratch.Current;
        float* packA = scratch.PackA, packB = scratch.PackB, tile = scratch.Tile;
        long ldc = g.Ldc;

        for (int pc = 0; pc < g.K; pc += kcMax)
        {
            int kc = Math.Min(kcMax, g.K - pc);
            // Later k slices add onto what the first one wrote.
            float beta = pc == 0 ? g.Beta : 1f;
            for (int ic = 0; ic < g.M; ic += mcMax)
            {
                int mc = Math.Min(mcMax, g.M - ic);
                GemmPacking.PackA(in g, ic, mc, pc, kc, mr, packA);
                for (int jc = n0; jc < n1; jc += ncMax)
                {
                    int nc = Math.Min(ncMax, n1 - jc);
                    GemmPacking.PackB(in g, pc, kc, jc, nc, nr, packB);
                    for (int ir = 0; ir < mc; ir += mr)
                    {
                        int mrValid = Math.Min(mr, mc - ir);
                        float* ap = packA + (long)ir * kc;
                        float* crow = g.C + (ic + ir) * ldc + jc;
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int nrValid = Math.Min(nr, nc - jr);
                            float* bp = packB + (long)jr * kc;
                            if (mrValid == mr && nrValid == nr)
                            {
                                TK.Run(kc, ap, bp, crow + jr, (nint)ldc, g.Alpha, beta);
                            }
                            else
                            {
                                // Edge tile: the same kernel on a staging tile, so its arithmetic is
                                // identical to a full tile's.
                                EdgeTile(kc, ap, bp, crow + jr, ldc, mrValid, nrValid, g.Alpha, beta, tile);
                            }
                        }
                    }
                }
            }
        }
    }

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
/// Splits C by columns, at multiples of NR, into one contiguous range per item. One instance per
/// calling thread, reused, so a parallel call allocates nothing after the first.
/// </summary>
internal sealed unsafe class ParallelGemmWork<TK> : IParallelWork where TK : struct, IMicroKernel
{
    [ThreadStatic] private static ParallelGemmWork<TK>? t_instance;

    private GemmArgs _args;
    private int _items;
    private int _panels;

    public static void Run(ISphereExecutor executor, in GemmArgs g, int items, int panels)
    {
        var work = t_instance ??= new ParallelGemmWork<TK>();
        work._args = g;
        work._items = items;
        work._panels = panels;
        try
        {
            executor.RunParallel(work, items);
        }
        finally
        {
            work._args = default; // drop the pointers into the caller's pinned spans
        }
    }

    public void ExecuteItem(int itemIndex, int workerIndex)
    {
        int p0 = (int)((long)_panels * itemIndex / _items);
        int p1 = (int)((long)_panels * (itemIndex + 1) / _items);
        int n0 = p0 * TK.NR;
        int n1 = Math.Min(_args.N, p1 * TK.NR);
        if (n0 < n1) BlockedGemm<TK>.RunColumns(in _args, n0, n1);
    }
}
