using Crystalline.Hpc.Platform;
using System.Diagnostics;
using System.Globalization;
using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// <c>dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- gemm [--rounds N] [--layout nn|nt|tn|both] [--shapes gpt2|all] [--threads 1,2] [--width V512|V256|V128] [--pin] [--executor control|dedicated] [--only NAME] [--shape MxNxK …] [--kernel 6x64|8x48|12x32|14x32|bf16]</c>:
/// our SGEMM against OpenBLAS's cblas_sgemm on the same buffers, repetitions interleaved, best time per call.
/// <c>--kernel bf16</c> runs our bf16 mixed-precision GEMM instead (its max rel diff against fp32 OpenBLAS is then bf16's ~1e-3, not a bug).
/// </summary>
internal static unsafe class GemmHarness
{
    private sealed record Shape(string Name, int M, int N, int K);

    private static string? s_kernel;

    /// <summary>--layout tn: op(A) = Aᵀ with A stored K×M (the weight-gradient products dW = doutputᵀ·input).</summary>
    private static bool s_transA;

    private static readonly Shape[] Gpt2Shapes =
    [
        new("(256×768)·(768×2304)", 256, 2304, 768),
        new("(256×768)·(768×3072)", 256, 3072, 768),
        new("(256×3072)·(3072×768)", 256, 768, 3072),
        new("(256×768)·(768×50304)", 256, 50304, 768),
        new("1024³", 1024, 1024, 1024),
    ];

    public static int Run(string[] args)
    {
        int rounds = 5;
        string layout = "nn";
        int[] threadCounts = [1, 2];
        var width = VectorWidth.Auto;
        string? only = null;
        bool pin = false;
        var extra = new List<Shape>();
        bool useControl = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--layout": layout = args[++i]; break;
                case "--threads": threadCounts = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--width": width = Enum.Parse<VectorWidth>(args[++i], ignoreCase: true); break;
                case "--only": only = args[++i]; break;
                case "--shape":
                    {
                        var d = args[++i].Split('x').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
                        extra.Add(new Shape($"({d[0]}×{d[2]})·({d[2]}×{d[1]})", d[0], d[1], d[2]));
                        break;
                    }
                case "--kernel": s_kernel = args[++i]; break;
                case "--pin": pin = true; break;
                case "--executor": useControl = args[++i] switch { "control" => true, "dedicated" => false, _ => throw new ArgumentException("--executor control|dedicated") }; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        bool haveBlas = OpenBlas.TryLoad(out string blasError);
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}");
        Console.WriteLine($"our kernel width: {KernelDispatch.Resolve(width)}, blocking KC={Crystalline.Hpc.Kernels.Gemm.GemmBlocking.KC} NC={Crystalline.Hpc.Kernels.Gemm.GemmBlocking.NC} (bf16: KC={Crystalline.Hpc.Kernels.Gemm.GemmBlocking.KCBf16} NC={Crystalline.Hpc.Kernels.Gemm.GemmBlocking.NCBf16}, kernel {(Crystalline.Hpc.Kernels.Gemm.Bf16Native.Available ? "native AVX512_BF16" : "emulated")}) packed-A budget={Crystalline.Hpc.Kernels.Gemm.GemmBlocking.PackedAFloats} floats");
        Console.WriteLine(haveBlas ? $"OpenBLAS core: {OpenBlas.CoreName}; config: {OpenBlas.Config}" : $"OpenBLAS not loaded: {blasError}");
        Console.WriteLine($"OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"} OPENBLAS_L2_SIZE={Environment.GetEnvironmentVariable("OPENBLAS_L2_SIZE") ?? "(unset)"}");
        foreach (int t in threadCounts.Distinct()) Console.WriteLine($"FMA peak, {t} thread(s), wall: {FmaPeak.Measure(t):F1} GFLOP/s");
        if (ThreadClock.Available)
            Console.WriteLine($"FMA peak, 1 thread, thread CPU time: {FmaPeak.MeasureCpu():F1} GFLOP/s with Vector512, {FmaPeak.MeasureCpu256():F1} GFLOP/s with Vector256");
        Console.WriteLine();

        // --pin: the caller (worker 0, and the 1-thread runs of both libraries) on CPU 0, worker w on CPU w.
        if (pin) Crystalline.Hpc.Platform.PlatformServices.Current.TryPinCurrentThread(0, out _);
        var executors = threadCounts.Distinct().ToDictionary(t => t, t => new TimedExecutor(useControl
            ? new ControlProcess(new ControlProcessOptions { WorkerCount = t, PinThreads = pin, CollectTimings = false, MailboxCapacity = 0 })
            : new DedicatedThreadExecutor(t, pin)));
        Console.WriteLine($"executor for our multi-threaded runs: {(useControl ? "ControlProcess (the scheduler)" : "bench DedicatedThreadExecutor")}, pinned: {pin}");
        try
        {
            Console.WriteLine("| shape | layout | threads | ours GFLOP/s (wall) | OpenBLAS GFLOP/s (wall) | ours/OpenBLAS (wall) | ours (thread CPU) | OpenBLAS (thread CPU) | ours/OpenBLAS (CPU) | max rel diff |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
            var shapes = extra.Count > 0 ? extra.ToArray() : Gpt2Shapes;
            foreach (var shape in shapes.Where(s => only is null || s.Name.Contains(only, StringComparison.Ordinal)))
                foreach (bool transB in layout switch { "nt" => new[] { true }, "both" => new[] { false, true }, _ => new[] { false } })
                {
                    s_transA = layout == "tn";
                    RunShape(shape, transB, rounds, threadCounts, executors, width, haveBlas);
                }
        }
        finally
        {
            foreach (var e in executors.Values) (e.Inner as IDisposable)?.Dispose();
        }
        return 0;
    }

    private static void RunShape(Shape s, bool transB, int rounds, int[] threadCounts,
        Dictionary<int, TimedExecutor> executors, VectorWidth width, bool haveBlas)
    {
        int m = s.M, n = s.N, k = s.K;
        using var a = new AlignedBuffer<float>((long)m * k);
        using var b = new AlignedBuffer<float>((long)k * n);
        using var cOurs = new AlignedBuffer<float>((long)m * n);
        using var cBlas = new AlignedBuffer<float>((long)m * n);
        var rng = new Random(42);
        for (long i = 0; i < a.Length; i++) a.Pointer[i] = (float)(rng.NextDouble() - 0.5);
        for (long i = 0; i < b.Length; i++) b.Pointer[i] = (float)(rng.NextDouble() - 0.5);
        int ldb = transB ? k : n;
        bool transA = s_transA;
        int lda = transA ? m : k;
        double flops = 2.0 * m * n * k;

        // Interleave: every round runs every configuration, so noise from other load hits all alike.
        var configs = new List<(int Threads, bool Blas)>();
        foreach (int t in threadCounts) { configs.Add((t, false)); if (haveBlas) configs.Add((t, true)); }
        var best = configs.ToDictionary(c => c, _ => double.MaxValue);
        var bestCpu = configs.ToDictionary(c => c, _ => double.MaxValue);
        for (int r = 0; r < rounds; r++)
        {
            foreach (var cfg in configs)
            {
                int reps = Math.Max(2, (int)(0.25e9 / flops * 50)); // ≈ 0.25 s at 50 GFLOP/s
                reps = Math.Min(reps, 50);
                for (int rep = 0; rep < reps; rep++)
                {
                    TimedExecutor? exOurs = !cfg.Blas && cfg.Threads > 1 ? executors[cfg.Threads] : null;
                    if (exOurs is not null) { exOurs.CriticalPathCpuSeconds = 0; exOurs.CallerItemCpuSeconds = 0; }
                    long t0 = Stopwatch.GetTimestamp();
                    double cpu0 = ThreadClock.Now();
                    if (cfg.Blas)
                    {
                        OpenBlas.SetNumThreads(cfg.Threads);
                        OpenBlas.Sgemm(OpenBlas.RowMajor, transA ? OpenBlas.Trans : OpenBlas.NoTrans, transB ? OpenBlas.Trans : OpenBlas.NoTrans,
                            m, n, k, 1f, a.Pointer, lda, b.Pointer, ldb, 0f, cBlas.Pointer, n);
                    }
                    else
                    {
                        if (s_kernel is not null)
                        {
                            var g = new Crystalline.Hpc.Kernels.Gemm.GemmArgs(transA, transB, m, n, k, 1f, a.Pointer, lda, b.Pointer, ldb, 0f, cOurs.Pointer, n);
                            var ex = cfg.Threads == 1 ? null : executors[cfg.Threads];
                            switch (s_kernel)
                            {
                                case "8x48": Crystalline.Hpc.Kernels.Gemm.BlockedGemm<Crystalline.Hpc.Kernels.Gemm.MicroKernel512x8x48>.Run(in g, ex); break;
                                case "12x32": Crystalline.Hpc.Kernels.Gemm.BlockedGemm<Crystalline.Hpc.Kernels.Gemm.MicroKernel512x12x32>.Run(in g, ex); break;
                                case "14x32": Crystalline.Hpc.Kernels.Gemm.BlockedGemm<Crystalline.Hpc.Kernels.Gemm.MicroKernel512x14x32>.Run(in g, ex); break;
                                case "bf16": Crystalline.Hpc.Kernels.Gemm.BlockedGemm<Crystalline.Hpc.Kernels.Gemm.MicroKernelBf16>.Run(in g, ex); break;
                                default: Crystalline.Hpc.Kernels.Gemm.BlockedGemm<Crystalline.Hpc.Kernels.Gemm.MicroKernel512>.Run(in g, ex); break;
                            }
                        }
                        else
                        Sgemm.Multiply(transA, transB, m, n, k, 1f,
                            new ReadOnlySpan<float>(a.Pointer, (int)a.Length), lda,
                            new ReadOnlySpan<float>(b.Pointer, (int)b.Length), ldb, 0f,
                            new Span<float>(cOurs.Pointer, (int)cOurs.Length), n,
                            cfg.Threads == 1 ? null : executors[cfg.Threads], width);
                    }
                    double sec = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    double cpuSec = ThreadClock.Now() - cpu0;
                    // Several threads: the caller's serial part plus each parallel phase's slowest worker.
                    if (exOurs is not null) cpuSec = cpuSec - exOurs.CallerItemCpuSeconds + exOurs.CriticalPathCpuSeconds;
                    if (rep > 0 || r > 0) // the very first call warms up
                    {
                        best[cfg] = Math.Min(best[cfg], sec);
                        bestCpu[cfg] = Math.Min(bestCpu[cfg], cpuSec);
                    }
                }
            }
        }

        double maxRel = 0;
        if (haveBlas)
        {
            double scale = 0;
            for (long i = 0; i < cBlas.Length; i++) scale = Math.Max(scale, Math.Abs(cBlas.Pointer[i]));
            for (long i = 0; i < cBlas.Length; i++) maxRel = Math.Max(maxRel, Math.Abs(cBlas.Pointer[i] - cOurs.Pointer[i]) / scale);
        }
        foreach (int t in threadCounts)
        {
            double ours = flops / best[(t, false)] / 1e9;
            string blas = haveBlas ? (flops / best[(t, true)] / 1e9).ToString("F1", CultureInfo.InvariantCulture) : "n/a";
            string ratio = haveBlas ? (best[(t, true)] / best[(t, false)]).ToString("P1", CultureInfo.InvariantCulture) : "n/a";
            // One thread: also by thread CPU time (both libraries compute on the calling thread then).
            string cpu = "";
            if (t > 1 && ThreadClock.Available)
            {
                cpu = string.Create(CultureInfo.InvariantCulture, $" {flops / bestCpu[(t, false)] / 1e9:F1} (critical path) | – | – |");
            }
            else if (t == 1 && ThreadClock.Available)
            {
                double oursCpu = flops / bestCpu[(1, false)] / 1e9;
                cpu = haveBlas
                    ? string.Create(CultureInfo.InvariantCulture, $" {oursCpu:F1} | {flops / bestCpu[(1, true)] / 1e9:F1} | {bestCpu[(1, true)] / bestCpu[(1, false)]:P1} |")
                    : string.Create(CultureInfo.InvariantCulture, $" {oursCpu:F1} | n/a | n/a |");
            }
            else cpu = " – | – | – |";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s.Name} | {(transA ? "Aᵀ·" : "A·")}{(transB ? "Bᵀ" : "B")} | {t} | {ours:F1} | {blas} | {ratio} |{cpu} {maxRel:E1} |"));
        }
    }
}
