using System.Diagnostics;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// <c>-- gemm-kernel</c>: the micro-kernel alone over packed panels that sit in cache (A panel in L1,
/// B block in L2, as in the real loop nest), interleaved with the FMA-peak loop: how close the
/// kernel itself runs to the machine's ceiling, separate from packing and blocking.
/// </summary>
internal static unsafe class KernelProbe
{
    public static int Run()
    {
        for (int round = 0; round < 5; round++)
        {
            double peak = FmaPeak.Measure(1, 3);
            Console.Write($"round {round}: FMA peak {peak:F1}");
            Report("6x64", Probe<MicroKernel512>(), peak);
            Report("8x48", Probe<MicroKernel512x8x48>(), peak);
            Report("12x32", Probe<MicroKernel512x12x32>(), peak);
            Report("14x32", Probe<MicroKernel512x14x32>(), peak);
            Report("avx2 6x16", Probe<MicroKernel256>(), peak);
            Console.WriteLine();
        }
        return 0;
    }

    private static void Report(string name, double gflops, double peak) => Console.Write($"  {name} {gflops:F1} ({gflops / peak:P0})");

    private static double Probe<TK>() where TK : struct, IMicroKernel
    {
        int kc = GemmBlocking.KC, panels = GemmBlocking.NC / TK.NR;
        using var a = new AlignedBuffer<float>(TK.MR * kc);
        using var b = new AlignedBuffer<float>((long)panels * TK.NR * kc);
        using var c = new AlignedBuffer<float>(TK.MR * TK.NR * panels);
        for (long i = 0; i < a.Length; i++) a.Pointer[i] = 1e-3f * (i % 7);
        for (long i = 0; i < b.Length; i++) b.Pointer[i] = 1e-3f * (i % 5);
        double best = double.MaxValue;
        const int sweeps = 200;
        for (int t = 0; t < 5; t++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int s = 0; s < sweeps; s++)
                for (int p = 0; p < panels; p++)
                    TK.Run(kc, a.Pointer, b.Pointer + (long)p * TK.NR * kc, c.Pointer + p * TK.NR, TK.NR * panels, 1f, 1f);
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        return 2.0 * TK.MR * TK.NR * kc * panels * sweeps / best / 1e9;
    }
}
