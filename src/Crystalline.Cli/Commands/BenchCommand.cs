using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Primes;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Training;

namespace Crystalline.Cli.Commands;

/// <summary>
/// <c>crystalline bench gemm|scheduler|primes|train|all</c>: a quick in-process measurement suite for a
/// user's own machine. Every figure is the best of N repetitions, and the variants being compared
/// run interleaved inside each repetition (A, B, A, B, …) so that a noisy neighbour slows both alike;
/// the tables therefore lead with ratios. For careful work use bench/ (BenchmarkDotNet and harnesses).
/// </summary>
internal static class BenchCommand
{
    private const string Usage =
        "usage: crystalline bench gemm [--size N] [--rows R] [--threads T] [--reps R] [--precision fp32|bf16]\n" +
        "       crystalline bench scheduler [--threads T] [--iterations I] [--reps R]\n" +
        "       crystalline bench primes [--limit 1e9] [--threads T] [--reps R]\n" +
        "       crystalline bench train [--model tiny|small] [--steps S (10 tiny, 2 small)] [--batch-size B] [--seq-len T] [--threads T] [--reps R] [--precision fp32|bf16]\n" +
        "       crystalline bench all [--threads T] [--reps R] [--quick]";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        if (args.Length == 0) throw new CliUsageException(Usage);
        string verb = args[0];
        string[] rest = args[1..];
        return verb switch
        {
            "gemm" => Gemm(rest),
            "scheduler" => Scheduler(rest),
            "primes" => Primes(rest),
            "train" => Train(rest),
            "all" => All(rest),
            _ => throw new CliUsageException($"unknown bench verb '{verb}'\n{Usage}"),
        };
    }

    private static CliArgs Parse(string[] args, string[] flags, string[] valued)
    {
        var a = new CliArgs(args, flags, valued);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'\n{Usage}");
        return a;
    }

    private static int Threads(CliArgs a) => a.GetInt("--threads", Environment.ProcessorCount, 1, 4096);

    private static int Reps(CliArgs a, int fallback) => a.GetInt("--reps", fallback, 1, 1000);

    private static void Header(string what, int threads, int reps) =>
        Console.WriteLine(string.Create(Inv,
            $"== bench {what}: {Environment.ProcessorCount} logical CPU(s), {threads} thread(s), best of {reps} interleaved repetition(s) after a warm-up =="));

    // ---------------------------------------------------------------- gemm

    private static int Gemm(string[] args)
    {
        var a = Parse(args, [], ["--size", "--rows", "--threads", "--reps", "--precision"]);
        int size = a.GetInt("--size", 1024, 1, 8192);
        int rows = a.GetInt("--rows", 256, 1, 65536);
        int threads = Threads(a);
        int reps = Reps(a, 5);
        var precision = TrainCommand.ParsePrecision(a.GetString("--precision", "fp32"));
        RunGemm(size, rows, threads, reps, fmaIterations: 1_000_000, precision);
        return 0;
    }

    private static void RunGemm(int size, int rows, int threads, int reps, long fmaIterations,
        Crystalline.Hpc.Kernels.Gemm.GemmPrecision precision = Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Fp32)
    {
        Header("gemm", threads, reps);
        bool bf16 = precision == Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16;
        Console.WriteLine("C = A·Bᵀ (as Linear.Forward: output = input·weightᵀ); GPT-2 124M shapes use R = B·T rows");
        if (bf16)
            Console.WriteLine("precision bf16: inputs rounded to bf16, fp32 accumulation (" + (Crystalline.Hpc.Kernels.Gemm.Bf16Native.Available
                ? "AVX512_BF16 tile); %peak is against the fp32 FMA peak, so up to ~200% where bf16 dot products run at twice its rate"
                : "managed emulation: " + Crystalline.Hpc.Kernels.Gemm.Bf16Native.Reason + ")"));
        var shapes = new List<(string Name, int M, int N, int K)> { ($"square {size}", size, size, size) };
        shapes.Add(("gpt2 qkv", rows, 3 * 768, 768));
        shapes.Add(("gpt2 attproj", rows, 768, 768));
        shapes.Add(("gpt2 fc", rows, 4 * 768, 768));
        shapes.Add(("gpt2 fcproj", rows, 768, 4 * 768));

        // The FMA peak runs as two more variants inside every shape's interleaved repetitions, so it
        // sees the same machine load as the GEMMs; the best over the whole run is the peak.
        double peakSeconds1 = double.MaxValue, peakSecondsT = double.MaxValue;
        // Short runs (about 2 ms each at full speed), many of them: on a shared machine the best one is
        // the one that ran undisturbed. The T-thread peak runs on the same workers as the GEMMs.
        using var cp = threads > 1 ? new ControlProcess(threads) : null;
        var chains = new FmaPeak.Work(fmaIterations);
        void Peak1() => chains.ExecuteItem(0, 0);
        void PeakT() => cp!.RunParallel(chains, threads);
        var results = new List<(string Name, int M, int N, int K, int Threads, double Seconds)>();
        foreach (var (name, m, n, k) in shapes)
        {
            using var A = new AlignedBuffer<float>((long)m * k);
            using var B = new AlignedBuffer<float>((long)n * k);
            using var C = new AlignedBuffer<float>((long)m * n);
            Fill(A.Span, 1); Fill(B.Span, 2);
            void One() => Sgemm.Multiply(false, true, m, n, k, 1f, A.Span, k, B.Span, k, 0f, C.Span, n, null, VectorWidth.Auto, precision);
            void Many() => Sgemm.Multiply(false, true, m, n, k, 1f, A.Span, k, B.Span, k, 0f, C.Span, n, cp, VectorWidth.Auto, precision);
            double[] best = cp is null ? BestOf(reps, One, Peak1) : BestOf(reps, One, Many, Peak1, PeakT);
            results.Add((name, m, n, k, 1, best[0]));
            if (cp is null)
            {
                peakSeconds1 = Math.Min(peakSeconds1, best[1]);
                peakSecondsT = peakSeconds1;
            }
            else
            {
                results.Add((name, m, n, k, threads, best[1]));
                peakSeconds1 = Math.Min(peakSeconds1, best[2]);
                peakSecondsT = Math.Min(peakSecondsT, best[3]);
            }
        }
        double peak1 = FmaPeak.Flops(1, fmaIterations) / peakSeconds1 / 1e9;
        double peakT = FmaPeak.Flops(threads, fmaIterations) / peakSecondsT / 1e9;
        Console.WriteLine(string.Create(Inv,
            $"FMA peak ({FmaPeak.WidthName}, {FmaPeak.Chains} independent FMA chains per thread, measured between the GEMMs): 1 thread {peak1:F1} GFLOP/s, {threads} thread(s) {peakT:F1} GFLOP/s"));
        Console.WriteLine("shape            M      N      K  threads    best ms   GFLOP/s  %peak  speed-up");
        bool abovePeak = false;
        double oneThread = 0;
        foreach (var (name, m, n, k, t, seconds) in results)
        {
            double gf = 2.0 * m * n * k / seconds / 1e9;
            double peak = t == 1 ? peak1 : peakT;
            abovePeak |= gf > peak;
            if (t == 1) oneThread = seconds;
            string speedUp = t == 1 ? "" : string.Create(Inv, $"{oneThread / seconds:F2}x");
            Console.WriteLine(string.Create(Inv,
                $"{name,-13} {m,5} {n,6} {k,6} {t,8} {seconds * 1e3,10:F3} {gf,9:F1} {100 * gf / peak,5:F1}% {speedUp,9}"));
        }
        if (abovePeak && !bf16) Console.WriteLine("(a share above 100%: the FMA chains never ran undisturbed; rerun on a quieter machine)");
    }

    private static void Fill(Span<float> s, uint seed)
    {
        uint x = seed * 2654435761u + 1;
        for (int i = 0; i < s.Length; i++)
        {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            s[i] = (x >> 8) * (1f / (1 << 24)) - 0.5f;
        }
    }

    // ---------------------------------------------------------------- scheduler

    private static int Scheduler(string[] args)
    {
        var a = Parse(args, [], ["--threads", "--iterations", "--reps"]);
        int threads = Threads(a);
        int iterations = a.GetInt("--iterations", 2000, 1, 10_000_000);
        int reps = Reps(a, 5);
        RunScheduler(threads, iterations, reps);
        return 0;
    }

    private static void RunScheduler(int threads, int iterations, int reps)
    {
        Header("scheduler", threads, reps);
        Console.WriteLine(string.Create(Inv,
            $"one fork-join of 12 trivial work items (one per sphere), {iterations} fork-joins per repetition"));
        var counts = new long[12];
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = threads, HierarchyDepth = 1 });
        var work = new CountingWork(counts);
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads };
        Action<int> body = i => counts[i]++;
        var tasks = new Task[12];

        void Epochs() { for (int i = 0; i < iterations; i++) cp.RunEpoch(work); }
        void ParallelFor() { for (int i = 0; i < iterations; i++) Parallel.For(0, 12, po, body); }
        void WhenAll()
        {
            for (int i = 0; i < iterations; i++)
            {
                for (int s = 0; s < 12; s++)
                {
                    int sphere = s;
                    tasks[s] = Task.Run(() => counts[sphere]++);
                }
                Task.WhenAll(tasks).GetAwaiter().GetResult();
            }
        }

        double[] best = BestOf(reps, Epochs, ParallelFor, WhenAll);
        // Every method must have run every item of every fork-join exactly once.
        long expected = (long)(reps + 1) * iterations * 3;
        foreach (long c in counts)
            if (c != expected) throw new InvalidOperationException($"a fork-join lost work: {c} runs of an item, {expected} expected");
        Console.WriteLine("method                         µs/fork-join  ratio to RunEpoch");
        string[] names = ["ControlProcess.RunEpoch", "Parallel.For(0, 12)", "Task.WhenAll(12 tasks)"];
        for (int v = 0; v < best.Length; v++)
        {
            double us = best[v] / iterations * 1e6;
            Console.WriteLine(string.Create(Inv, $"{names[v],-30} {us,12:F2} {best[v] / best[0],17:F2}x"));
        }
        Console.WriteLine(string.Create(Inv, $"(work stealing {(cp.WorkStealingEnabled ? "on" : "off")}; worker 0 is the calling thread; {cp.Placements.Count(p => p.Pinned)} of {threads} worker(s) pinned)"));
    }

    private sealed class CountingWork(long[] counts) : ISphereWork
    {
        public void ExecuteSphere(int sphereIndex, int workerIndex) => counts[sphereIndex]++;
    }

    // ---------------------------------------------------------------- primes

    private static int Primes(string[] args)
    {
        var a = Parse(args, [], ["--limit", "--threads", "--reps"]);
        string? text = a.GetString("--limit");
        long limit = text is null ? 1_000_000_000 : CliArgs.ParseInteger(text, "--limit");
        if (limit < 2 || limit > 1_000_000_000_000) throw new CliUsageException($"--limit must be in [2, 1e12], got {text}");
        int threads = Threads(a);
        int reps = Reps(a, 3);
        RunPrimes(limit, threads, reps);
        return 0;
    }

    private static void RunPrimes(long limit, int threads, int reps)
    {
        Header("primes", threads, reps);
        using var cp1 = new ControlProcess(1);
        using var cpT = threads > 1 ? new ControlProcess(threads) : null;
        using var ab1 = new HierarchicalAbacus(cp1);
        using var abT = cpT is null ? null : new HierarchicalAbacus(cpT);
        long count1 = -1, countT = -1;
        void One() => count1 = ab1.Count(0, limit + 1);
        void Many() => countT = abT!.Count(0, limit + 1);
        double[] best = abT is null ? BestOf(reps, One) : BestOf(reps, One, Many);
        if (abT is not null && countT != count1) throw new InvalidOperationException($"the abacus counted {count1} on 1 thread and {countT} on {threads}");
        Console.WriteLine(string.Create(Inv, $"pi({limit}) = {count1} (hierarchical abacus, block {ab1.BlockBytes / 1024} KiB)"));
        Console.WriteLine("threads     best ms   primes/s (M)  speed-up");
        for (int v = 0; v < best.Length; v++)
        {
            int t = v == 0 ? 1 : threads;
            string speedUp = v == 0 ? "" : string.Create(Inv, $"{best[0] / best[v]:F2}x");
            Console.WriteLine(string.Create(Inv, $"{t,7} {best[v] * 1e3,11:F3} {count1 / best[v] / 1e6,14:F1} {speedUp,9}"));
        }
    }

    // ---------------------------------------------------------------- train

    private static int Train(string[] args)
    {
        var a = Parse(args, [], ["--model", "--steps", "--batch-size", "--seq-len", "--threads", "--reps", "--precision"]);
        string model = a.GetString("--model", "tiny");
        var precision = TrainCommand.ParsePrecision(a.GetString("--precision", "fp32"));
        if (model is not ("tiny" or "small")) throw new CliUsageException($"--model must be tiny or small, got '{model}'");
        int steps = a.GetInt("--steps", model == "tiny" ? 10 : 2, 1, 100_000); // small takes seconds a step on a few cores: keep its default run short
        int batch = a.GetInt("--batch-size", 12, 1, 4096);
        int seqLen = a.GetInt("--seq-len", 64, 1, 1 << 20);
        int threads = Threads(a);
        int reps = Reps(a, 3);
        var cfg = GptConfig.FromPreset(model);
        if (seqLen > cfg.MaxSeqLen) throw new CliUsageException($"--seq-len {seqLen} exceeds the {model} model's context of {cfg.MaxSeqLen}");
        RunTrain(model, steps, batch, seqLen, threads, reps, precision);
        return 0;
    }

    private static void RunTrain(string model, int steps, int batch, int seqLen, int threads, int reps,
        Crystalline.Hpc.Kernels.Gemm.GemmPrecision precision = Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Fp32)
    {
        Header("train", threads, reps);
        var cfg = GptConfig.FromPreset(model);
        var opt = new TrainerOptions { Model = cfg, BatchSize = batch, SeqLen = seqLen, HierarchyDepth = 1, Precision = precision };
        Console.WriteLine(string.Create(Inv,
            $"model {model} ({cfg.Describe()}, {ParameterLayout.CountParameters(cfg):N0} parameters), B={batch}, T={seqLen}, 12 spheres, {steps} optimizer step(s) per repetition, random tokens, precision {(precision == Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16 ? "bf16" : "fp32")}"));
        int[] inputs = new int[batch * seqLen], targets = new int[batch * seqLen];
        uint x = 12345;
        for (int i = 0; i < inputs.Length; i++)
        {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5; inputs[i] = (int)(x % (uint)cfg.VocabSize);
            x ^= x << 13; x ^= x >> 17; x ^= x << 5; targets[i] = (int)(x % (uint)cfg.VocabSize);
        }
        using var cp1 = new ControlProcess(1);
        using var cpT = threads > 1 ? new ControlProcess(threads) : null;
        using var tr1 = new Trainer(opt, cp1);
        using var trT = cpT is null ? null : new Trainer(opt, cpT);
        double loss = double.NaN;
        void One() { for (int i = 0; i < steps; i++) loss = tr1.Step(inputs, targets).Loss; }
        void Many() { for (int i = 0; i < steps; i++) trT!.Step(inputs, targets); }
        double[] best = trT is null ? BestOf(reps, One) : BestOf(reps, One, Many);
        Console.WriteLine("threads   ms/step   tokens/s  speed-up");
        for (int v = 0; v < best.Length; v++)
        {
            int t = v == 0 ? 1 : threads;
            double ms = best[v] / steps * 1e3;
            string speedUp = v == 0 ? "" : string.Create(Inv, $"{best[0] / best[v]:F2}x");
            Console.WriteLine(string.Create(Inv, $"{t,7} {ms,9:F2} {batch * seqLen / (ms / 1e3),10:F0} {speedUp,9}"));
        }
        // Both trainers took the same steps on the same batch: the design promises bitwise-equal weights.
        string same = trT is null ? "n/a (one thread only)" : tr1.Parameters.All.SequenceEqual(trT.Parameters.All) ? "yes" : "NO";
        Console.WriteLine(string.Create(Inv, $"after {tr1.State.Step} steps: loss {loss:F4}; weights bitwise equal on 1 and {threads} thread(s): {same}"));
    }

    // ---------------------------------------------------------------- all

    private static int All(string[] args)
    {
        var a = Parse(args, ["--quick"], ["--threads", "--reps"]);
        int threads = Threads(a);
        bool quick = a.GetFlag("--quick");
        int reps = Reps(a, quick ? 1 : 3);
        if (quick)
        {
            RunGemm(64, 16, threads, reps, fmaIterations: 200_000);
            RunScheduler(threads, 50, reps);
            RunPrimes(1_000_000, threads, reps);
            RunTrain("tiny", 1, 12, 16, threads, reps);
        }
        else
        {
            RunGemm(1024, 256, threads, reps, fmaIterations: 1_000_000);
            RunScheduler(threads, 2000, reps);
            RunPrimes(1_000_000_000, threads, reps);
            RunTrain("tiny", 10, 12, 64, threads, reps);
        }
        return 0;
    }

    // ---------------------------------------------------------------- timing

    /// <summary>
    /// Runs every variant once (warm-up: JIT tiers, page faults, packing buffers), then
    /// <paramref name="reps"/> rounds of all variants in turn; returns each variant's best time in seconds.
    /// </summary>
    private static double[] BestOf(int reps, params Action[] variants)
    {
        foreach (var v in variants) v();
        var best = new double[variants.Length];
        Array.Fill(best, double.MaxValue);
        for (int r = 0; r < reps; r++)
        {
            for (int i = 0; i < variants.Length; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                variants[i]();
                best[i] = Math.Min(best[i], Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
        }
        return best;
    }

    /// <summary>
    /// The machine's FMA ceiling: <see cref="Chains"/> independent FMA chains of the widest accelerated
    /// vector, enough to cover FMA latency × ports on current x64 and Arm cores.
    /// </summary>
    private static class FmaPeak
    {
        public const int Chains = FmaChains.Chains;

        public static string WidthName => FmaChains.Width switch
        {
            VectorWidth.V512 => "Vector512",
            VectorWidth.V256 => "Vector256",
            _ => "Vector128",
        };

        /// <summary>Floating-point operations of one run of <paramref name="threads"/> threads.</summary>
        public static double Flops(int threads, long iterations) => threads * FmaChains.Flops(iterations, FmaChains.Width);

        /// <summary>One item = one thread's run of the chains; the control process runs one item per worker.</summary>
        public sealed class Work(long iterations) : IParallelWork
        {
            public float Sink;

            public void ExecuteItem(int itemIndex, int workerIndex) => Sink = FmaChains.Run(iterations);
        }
    }
}
