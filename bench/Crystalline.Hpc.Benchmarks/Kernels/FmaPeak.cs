using Crystalline.Hpc.Platform;
using System.Diagnostics;
using Crystalline.Hpc.Kernels;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>Measures the machine's FMA ceiling with <see cref="FmaChains"/> (12 independent Vector512 chains).</summary>
internal static class FmaPeak
{
    /// <summary>As <see cref="MeasureCpu"/> with 256-bit vectors: tells whether 512-bit FMAs run at twice the 256-bit rate.</summary>
    public static double MeasureCpu256(int tries = 5) => MeasureCpu(VectorWidth.V256, 8, tries);

    /// <summary>GFLOP/s of the calling thread alone, by its CPU time (immune to preemption by other processes).</summary>
    public static double MeasureCpu(int tries = 5) => MeasureCpu(VectorWidth.V512, 16, tries);

    private static double MeasureCpu(VectorWidth width, int lanes, int tries)
    {
        const long iterations = 5_000_000;
        FmaChains.Run(1000, width);
        double best = double.MaxValue;
        for (int t = 0; t < tries; t++)
        {
            double c0 = ThreadClock.Now();
            FmaChains.Run(iterations, width);
            best = Math.Min(best, ThreadClock.Now() - c0);
        }
        return iterations * 12.0 * lanes * 2 / best / 1e9;
    }

    /// <summary>
    /// The bf16 ceiling: GFLOP/s of the calling thread (by its CPU time) running the bf16 register tile
    /// over L1-resident panels (400 k pairs, β = 0), i.e. the kernel with no memory traffic. NaN when the
    /// native AVX512_BF16 tile is not available (the emulation's rate says nothing about the hardware).
    /// </summary>
    public static unsafe double MeasureBf16TileCpu(int tries = 5)
    {
        var tile = Crystalline.Hpc.Kernels.Gemm.Bf16Native.Tile;
        if (tile == null || !ThreadClock.Available) return double.NaN;
        const int kpairs = 400, calls = 4000;
        using var a = new Crystalline.Hpc.Memory.AlignedBuffer<uint>(6 * kpairs);
        using var b = new Crystalline.Hpc.Memory.AlignedBuffer<uint>(64 * kpairs);
        using var c = new Crystalline.Hpc.Memory.AlignedBuffer<float>(6 * 64);
        for (int i = 0; i < 6 * kpairs; i++) a.Pointer[i] = 0x3F80_3F80u;
        for (int i = 0; i < 64 * kpairs; i++) b.Pointer[i] = 0x3F00_3F00u;
        double best = double.MaxValue;
        for (int t = 0; t < tries; t++)
        {
            double c0 = ThreadClock.Now();
            for (int i = 0; i < calls; i++) tile(kpairs, a.Pointer, b.Pointer, c.Pointer, 64, 1f, 0f);
            best = Math.Min(best, ThreadClock.Now() - c0);
        }
        return calls * 6.0 * 64 * kpairs * 4 / best / 1e9; // 2 k per pair, 2 flops per multiply-add
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
