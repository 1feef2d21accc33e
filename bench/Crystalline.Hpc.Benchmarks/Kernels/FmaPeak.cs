using Crystalline.Hpc.Platform;
using System.Diagnostics;
using Crystalline.Hpc.Kernels;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>Measures the machine's FMA ceiling with <see cref="FmaChains"/> (12 independent Vector512 chains).</summary>
internal static class FmaPeak
{
    /// <summary>As <see cref="MeasureCpu"/> with 256-bit vectors: tells whether 512-bit FMAs run at twice the 256-bit rate.</summary>
    public static double MeasureCpu256(int tries = 5)
    {
        const long iterations = 5_000_000;
        FmaChains.Run(1000, VectorWidth.V256);
        double best = double.MaxValue;
        for (int t = 0; t < tries; t++)
        {
            double c0 = ThreadClock.Now();
            FmaChains.Run(iterations, VectorWidth.V256);
            best = Math.Min(best, ThreadClock.Now() - c0);
        }
        return iterations * 12.0 * 8 * 2 / best / 1e9;
    }

    /// <summary>GFLOP/s of the calling thread alone, by its CPU time (immune to preemption by other processes).</summary>
    public static double MeasureCpu(int tries = 5)
    {
        const long iterations = 5_000_000;
        FmaChains.Run(1000, VectorWidth.V512);
        double best = double.MaxValue;
        for (int t = 0; t < tries; t++)
        {
            double c0 = ThreadClock.Now();
            FmaChains.Run(iterations, VectorWidth.V512);
            best = Math.Min(best, ThreadClock.Now() - c0);
        }
        return iterations * 12.0 * 16 * 2 / best / 1e9;
    }

    /// <summary>GFLOP/s of <paramref name="threads"/> threads running the chains at once (best of a few tries).</summary>
    public static double Measure(int threads, int tries = 5)
    {
        const long iterations = 20_000_000; // 12·16·2 flops each: 7.7 GFLOP per thread
        FmaChains.Run(1000, VectorWidth.V512);
        double best = 0;
        for (int t = 0; t < tries; t++)
        {
            var sw = Stopwatch.StartNew();
            var workers = new Thread[threads];
            for (int i = 0; i < threads; i++) { workers[i] = new Thread(() => FmaChains.Run(iterations, VectorWidth.V512)); workers[i].Start(); }
            foreach (var w in workers) w.Join();
            double seconds = sw.Elapsed.TotalSeconds;
            best = Math.Max(best, threads * iterations * 12.0 * 16 * 2 / seconds / 1e9);
        }
        return best;
    }
}
