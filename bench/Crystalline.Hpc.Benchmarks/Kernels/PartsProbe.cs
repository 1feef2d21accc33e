using Crystalline.Hpc.Platform;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// <c>-- gemm-parts M N K</c>: thread CPU time of the whole single-threaded GEMM against its parts
/// (packing A, packing B, the micro-kernel calls alone on packed data), to see where time goes.
/// </summary>
internal static unsafe class PartsProbe
{
    public static int Run(string[] args)
    {
        int m = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 256;
        int n = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2304;
        int k = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 768;
        bool transB = args.Length > 3 && args[3] == "t";
        using var a = new AlignedBuffer<float>((long)m * k);
        using var b = new AlignedBuffer<float>((long)k * n);
        using var c = new AlignedBuffer<float>((long)m * n);
        for (long i = 0; i < a.Length; i++) a.Pointer[i] = (i % 13) * 0.01f;
        for (long i = 0; i < b.Length; i++) b.Pointer[i] = (i % 7) * 0.01f;
        var g = new GemmArgs(false, transB, m, n, k, 1f, a.Pointer, k, b.Pointer, transB ? k : n, 0f, c.Pointer, n);
        int kc = GemmBlocking.KC, nc = GemmBlocking.NC / 64 * 64;
        int mPad = (m + 5) / 6 * 6;
        using var packA = new AlignedBuffer<float>((long)mPad * k);
        using var packB = new AlignedBuffer<float>((long)kc * nc);
        double flops = 2.0 * m * n * k;
        for (int round = 0; round < 5; round++)
        {
            double full = Best(() => BlockedGemm<MicroKernel512>.Run(in g, null));
            double pa = Best(() => BlockedGemm<MicroKernel512>.PackABlock(in g, 0, m, 0, mPad / 6, packA.Pointer));
            double pb = Best(() =>
            {
                for (int pc = 0; pc < k; pc += kc)
                    for (int jc = 0; jc < n; jc += nc)
                        GemmPacking.PackB(in g, pc, Math.Min(kc, k - pc), jc, Math.Min(nc, n - jc), 64, packB.Pointer);
            });
            double kern = Best(() =>
            {
                // The kernel calls of the loop nest on one packed B block, C tiles at their real addresses.
                for (int pc = 0; pc < k; pc += kc)
                {
                    int kcs = Math.Min(kc, k - pc);
                    for (int jc = 0; jc < n; jc += nc)
                        for (int ir = 0; ir + 6 <= m; ir += 6)
                            for (int jr = 0; jr + 64 <= Math.Min(nc, n - jc); jr += 64)
                                MicroKernel512.Run(kcs, packA.Pointer + (long)ir * kcs, packB.Pointer + (long)jr * kcs, c.Pointer + (long)ir * n + jc + jr, n, 1f, 1f);
                }
            });
            Console.WriteLine($"round {round}: full {flops / full / 1e9:F1} GFLOP/s ({full * 1e3:F2} ms) | pack A {pa * 1e3:F3} ms ({pa / full:P1}) | pack B {pb * 1e3:F3} ms ({pb / full:P1}) | kernels alone {kern * 1e3:F2} ms ({kern / full:P1}, {flops / kern / 1e9:F1} GFLOP/s)");
        }
        return 0;
    }

    private static double Best(Action action)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < 7; i++)
        {
            double t0 = ThreadClock.Now();
            action();
            best = Math.Min(best, ThreadClock.Now() - t0);
        }
        return best;
    }
}
