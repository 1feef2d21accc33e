using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>The machine's FMA ceiling: 12 independent Vector512 FMA chains (enough to cover latency × ports).</summary>
internal static class FmaPeak
{
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains(long iterations)
    {
        var m = Vector512.Create(0.999999f);
        var add = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
            a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, add); a1 = Vector512.FusedMultiplyAdd(a1, m, add);
            a2 = Vector512.FusedMultiplyAdd(a2, m, add); a3 = Vector512.FusedMultiplyAdd(a3, m, add);
            a4 = Vector512.FusedMultiplyAdd(a4, m, add); a5 = Vector512.FusedMultiplyAdd(a5, m, add);
            a6 = Vector512.FusedMultiplyAdd(a6, m, add); a7 = Vector512.FusedMultiplyAdd(a7, m, add);
            a8 = Vector512.FusedMultiplyAdd(a8, m, add); a9 = Vector512.FusedMultiplyAdd(a9, m, add);
            a10 = Vector512.FusedMultiplyAdd(a10, m, add); a11 = Vector512.FusedMultiplyAdd(a11, m, add);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(long iterations)
    {
        var m = Vector256.Create(0.999999f);
        var add = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
            a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, add); a1 = Vector256.FusedMultiplyAdd(a1, m, add);
            a2 = Vector256.FusedMultiplyAdd(a2, m, add); a3 = Vector256.FusedMultiplyAdd(a3, m, add);
            a4 = Vector256.FusedMultiplyAdd(a4, m, add); a5 = Vector256.FusedMultiplyAdd(a5, m, add);
            a6 = Vector256.FusedMultiplyAdd(a6, m, add); a7 = Vector256.FusedMultiplyAdd(a7, m, add);
            a8 = Vector256.FusedMultiplyAdd(a8, m, add); a9 = Vector256.FusedMultiplyAdd(a9, m, add);
            a10 = Vector256.FusedMultiplyAdd(a10, m, add); a11 = Vector256.FusedMultiplyAdd(a11, m, add);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>As <see cref="MeasureCpu"/> with 256-bit vectors: tells whether 512-bit FMAs run at twice the 256-bit rate.</summary>
    public static double MeasureCpu256(int tries = 5)
    {
        const long iterations = 5_000_000;
        Chains256(1000);
        double best = double.MaxValue;
        for (int t = 0; t < tries; t++)
        {
            double c0 = ThreadClock.Now();
            Chains256(iterations);
            best = Math.Min(best, ThreadClock.Now() - c0);
        }
        return iterations * 12.0 * 8 * 2 / best / 1e9;
    }

    /// <summary>GFLOP/s of the calling thread alone, by its CPU time (immune to preemption by other processes).</summary>
    public static double MeasureCpu(int tries = 5)
    {
        const long iterations = 5_000_000;
        Chains(1000);
        double best = double.MaxValue;
        for (int t = 0; t < tries; t++)
        {
            double c0 = ThreadClock.Now();
            Chains(iterations);
            best = Math.Min(best, ThreadClock.Now() - c0);
        }
        return iterations * 12.0 * 16 * 2 / best / 1e9;
    }

    /// <summary>GFLOP/s of <paramref name="threads"/> threads running the chains at once (best of a few tries).</summary>
    public static double Measure(int threads, int tries = 5)
    {
        const long iterations = 20_000_000; // 12·16·2 flops each: 7.7 GFLOP per thread
        Chains(1000);
        double best = 0;
        for (int t = 0; t < tries; t++)
        {
            var sw = Stopwatch.StartNew();
            var workers = new Thread[threads];
            for (int i = 0; i < threads; i++) { workers[i] = new Thread(() => Chains(iterations)); workers[i].Start(); }
            foreach (var w in workers) w.Join();
            double seconds = sw.Elapsed.TotalSeconds;
            best = Math.Max(best, threads * iterations * 12.0 * 16 * 2 / seconds / 1e9);
        }
        return best;
    }
}
