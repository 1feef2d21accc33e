using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// <c>-- lockstep-probe [parts rows K N itemColumns copies]</c>: one thread runs the lockstep pass's product
/// (<see cref="BlockedGemm{TK}.ComputeColumnsOfParts"/>: several parts of rows sharing one weight, a column
/// item at a time) as the forward does (B = Wᵀ), with the weight from memory (cycling through copies) or the
/// same weight every time (cache), against the same product with B pre-packed (no packing).
/// </summary>
internal static unsafe class LockstepProbe
{
    public static int Run(string[] args)
    {
        int Arg(int i, int d) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : d;
        int parts = Arg(0, 4), rows = Arg(1, 64), k = Arg(2, 768), n = Arg(3, 2304), itemCols = Arg(4, 576), copies = Arg(5, 48);
        long wFloats = (long)n * k;
        using var w = new AlignedBuffer<float>(wFloats * copies);
        for (long i = 0; i < w.Length; i++) w.Pointer[i] = (i % 17) * 0.01f;
        var a = new AlignedBuffer<float>[parts];
        var c = new AlignedBuffer<float>[parts];
        for (int p = 0; p < parts; p++)
        {
            a[p] = new AlignedBuffer<float>((long)rows * k);
            c[p] = new AlignedBuffer<float>((long)rows * n);
            for (long i = 0; i < a[p].Length; i++) a[p].Pointer[i] = (i % 13) * 0.01f;
        }
        int nPad = (n + 63) / 64 * 64;
        using var packed = new AlignedBuffer<float>((long)k * nPad);
        var gs = new GemmArgs[parts];
        double flops = 2.0 * parts * rows * (double)n * k;
        void Product(int copy, bool prepacked)
        {
            for (int p = 0; p < parts; p++)
                gs[p] = new GemmArgs(false, true, rows, n, k, 1f, a[p].Pointer, k, w.Pointer + copy * wFloats, k, 0f, c[p].Pointer, n)
                { PackedB = prepacked ? packed.Pointer : null, PackedNPad = prepacked ? nPad : 0 };
            for (int n0 = 0; n0 < n; n0 += itemCols)
                BlockedGemm<MicroKernel512>.ComputeColumnsOfParts(gs, n0, Math.Min(n, n0 + itemCols));
        }
        // The pre-packed operand: every KC slice of Wᵀ, as PackB writes it.
        var g0 = new GemmArgs(false, true, rows, n, k, 1f, a[0].Pointer, k, w.Pointer, k, 0f, c[0].Pointer, n);
        for (int pc = 0; pc < k; pc += GemmBlocking.KC)
        {
            int kc = Math.Min(GemmBlocking.KC, k - pc);
            for (int jc = 0; jc < n; jc += 64)
                GemmPacking.PackB(in g0, pc, kc, jc, Math.Min(64, n - jc), 64, packed.Pointer + (long)pc * nPad + (long)jc * kc);
        }
        Console.WriteLine($"{parts} parts × {rows} rows, K {k}, N {n}, items of {itemCols} columns, {copies} copies of Wᵀ ({wFloats * 4.0 * copies / 1e6:F0} MB)");
        for (int round = 0; round < 4; round++)
        {
            int copy = 0;
            double memory = ProbeClock.Seconds(() => { for (int i = 0; i < copies; i++) Product(copy++ % copies, false); }) / copies;
            double cached = ProbeClock.Seconds(() => { for (int i = 0; i < copies; i++) Product(0, false); }) / copies;
            double pre = ProbeClock.Seconds(() => { for (int i = 0; i < copies; i++) Product(0, true); }) / copies;
            Console.WriteLine($"round {round}: W from memory {flops / memory / 1e9:F1} GFLOP/s | same W each time {flops / cached / 1e9:F1} | pre-packed (kernels, A packing) {flops / pre / 1e9:F1}");
        }
        foreach (var b in a) b.Dispose();
        foreach (var b in c) b.Dispose();
        return 0;
    }
}
