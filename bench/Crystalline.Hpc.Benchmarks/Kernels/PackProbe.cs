using System.Runtime.Intrinsics;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// <c>-- pack-probe [rows cols copies]</c>: how fast the weight packing runs on weights that come from
/// memory (many copies of one matrix, more bytes than the caches hold) against a plain read and a plain copy
/// of the same bytes, thread CPU time, one thread.
/// </summary>
internal static unsafe class PackProbe
{
    public static int Run(string[] args)
    {
        int rows = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 2304;
        int cols = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 768;
        int copies = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 64;
        int itemCols = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 384;
        int group = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 16;
        long matrix = (long)rows * cols;
        using var w = new AlignedBuffer<float>(matrix * copies);
        for (long i = 0; i < w.Length; i++) w.Pointer[i] = i % 11;
        using var copy = new AlignedBuffer<float>(matrix * copies);
        int kc = GemmBlocking.KC, nr = 64;
        using var packB = new AlignedBuffer<float>(GemmBlocking.PackedBFloats);
        double bytes = matrix * copies * 4.0;
        Console.WriteLine($"W {rows}x{cols} x {copies} copies = {bytes / 1e6:F0} MB; KC {kc}, item columns {itemCols}");
        for (int round = 0; round < 4; round++)
        {
            double read = ProbeClock.Seconds(() =>
            {
                var acc = Vector512<float>.Zero;
                float* p = w.Pointer;
                for (long i = 0; i < w.Length; i += 16) acc += Vector512.LoadAligned(p + i);
                if (acc[0] == -1) Console.Write("");
            });
            double cp = ProbeClock.Seconds(() => Buffer.MemoryCopy(w.Pointer, copy.Pointer, (long)bytes, (long)bytes));
            // Forward: B = Wᵀ (k = cols, n = rows), transposed packing.
            double fwd = ProbeClock.Seconds(() =>
            {
                for (int c = 0; c < copies; c++)
                {
                    var g = new GemmArgs(false, true, 1, rows, cols, 1f, null, cols, w.Pointer + c * matrix, cols, 0f, null, rows);
                    for (int n0 = 0; n0 < rows; n0 += itemCols)
                        for (int pc = 0; pc < cols; pc += kc)
                            GemmPacking.PackB(in g, pc, Math.Min(kc, cols - pc), n0, Math.Min(itemCols, rows - n0), nr, packB.Pointer);
                }
            });
            // Backward: B = W (k = rows, n = cols), row packing.
            double bwd = ProbeClock.Seconds(() =>
            {
                for (int c = 0; c < copies; c++)
                {
                    var g = new GemmArgs(false, false, 1, cols, rows, 1f, null, rows, w.Pointer + c * matrix, cols, 0f, null, cols);
                    for (int n0 = 0; n0 < cols; n0 += itemCols)
                        for (int pc = 0; pc < rows; pc += kc)
                            GemmPacking.PackB(in g, pc, Math.Min(kc, rows - pc), n0, Math.Min(itemCols, cols - n0), nr, packB.Pointer);
                }
            });
            double fwd2 = ProbeClock.Seconds(() =>
            {
                for (int c = 0; c < copies; c++)
                    for (int n0 = 0; n0 < rows; n0 += itemCols)
                        for (int pc = 0; pc < cols; pc += kc)
                            TransposedGroups(w.Pointer + c * matrix, cols, pc, Math.Min(kc, cols - pc), n0, Math.Min(itemCols, rows - n0), nr, packB.Pointer, group);
            });
            double bwd2 = ProbeClock.Seconds(() =>
            {
                for (int c = 0; c < copies; c++)
                    for (int n0 = 0; n0 < cols; n0 += itemCols)
                        for (int pc = 0; pc < rows; pc += kc)
                            RowsPanelMajor(w.Pointer + c * matrix, cols, pc, Math.Min(kc, rows - pc), n0, Math.Min(itemCols, cols - n0), nr, packB.Pointer);
            });
            Console.WriteLine($"    variants: pack Wᵀ {group}-row groups, k inner {bytes / fwd2 / 1e9:F1} GB/s | pack W panel-major {bytes / bwd2 / 1e9:F1} GB/s");
            Console.WriteLine($"round {round}: read {bytes / read / 1e9:F1} GB/s | copy {bytes / cp / 1e9:F1} GB/s | pack Wᵀ (forward) {bytes / fwd / 1e9:F1} GB/s | pack W (backward) {bytes / bwd / 1e9:F1} GB/s");
        }
        return 0;
    }

    // B(k, j) = b[j·ldb + k], columns taken `group` at a time with k inner (group/8 transposes side by side per k step).
    private static void TransposedGroups(float* b, long ldb, int pc, int kc, int jc, int nc, int nr, float* dst, int group)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            float* d = dst + (long)jr * kc;
            float* s = b + (jc + jr) * ldb + pc;
            for (int j = 0; j < nr; j += group)
            {
                float* sj = s + j * ldb;
                for (int p = 0; p < kc; p += 8)
                    for (int jj = 0; jj < group; jj += 8)
                        GemmPacking.Transpose8x8(sj + jj * ldb + p, ldb, d + (long)p * nr + j + jj, nr);
            }
        }
    }

    // B(k, j) = b[k·ldb + j], one panel at a time.
    private static void RowsPanelMajor(float* b, long ldb, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            float* d = dst + (long)jr * kc;
            float* s = b + (long)pc * ldb + jc + jr;
            for (int p = 0; p < kc; p++, d += nr, s += ldb)
                for (int i = 0; i < nr; i += 16) Vector512.Store(Vector512.Load(s + i), d + i);
        }
    }
}
