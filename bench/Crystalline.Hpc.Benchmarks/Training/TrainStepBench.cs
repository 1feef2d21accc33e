using Crystalline.Hpc.Platform;
using System.Diagnostics;
using System.Globalization;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Training;

namespace Crystalline.Hpc.Benchmarks.Training;

/// <summary>
/// <c>-- train-step [--model gpt2-124M] [--shapes 4x64,12x256] [--threads 1,2] [--steps 5] [--warmup 1] [--peak-gflops-per-core 210] [--profile] [--gradients auto,lockstep,fused,sphere,unpacked,legacy] [--precision fp32,bf16]</c>:
/// ms/step, tokens/s, share of time in spheres/sync/reduction/optimizer, and model FLOP/s
/// (6·N + 12·L·C·T per token, the usual count) as a share of the FMA peak. Random tokens, real steps.
/// <c>--profile</c> adds a table of thread CPU time per kernel phase (<see cref="StepProfile"/>), summed
/// over workers, per step. <c>--gradients</c> runs each shape and thread count once per gradient
/// scheme, side by side in one process (all give the same weights bit for bit): auto (the default): the trainer's
/// own choice (lockstep when no sphere holds more than 128 tokens, else sphere); lockstep: as fused, but the spheres
/// run stage by stage together and every weight product serves all their rows at once (<see cref="LockstepPass"/>); fused: the weight
/// matrices' gradients made and tree-reduced block by block after the spheres' epoch (<see cref="FusedWeightGradients"/>),
/// the rest written with β = 0 and no zeroing pass, weights pre-packed once per step; sphere: every sphere writes
/// all its gradients into its own buffer and the reduction adds the buffers; unpacked: as sphere, but every GEMM
/// packs its weight operand itself; legacy: as sphere, zero-then-accumulate.
/// </summary>
internal static class TrainStepBench
{
    public static int Run(string[] args)
    {
        string Arg(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var cfg = GptConfig.FromPreset(Arg("--model", "gpt2-124M"));
        var shapes = Arg("--shapes", "4x64,12x256").Split(',').Select(s => s.Split('x')).Select(p => (B: int.Parse(p[0], CultureInfo.InvariantCulture), T: int.Parse(p[1], CultureInfo.InvariantCulture))).ToArray();
        int[] threads = Arg("--threads", "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int steps = int.Parse(Arg("--steps", "5"), CultureInfo.InvariantCulture);
        int warm = int.Parse(Arg("--warmup", "1"), CultureInfo.InvariantCulture);
        string[] schemes = Arg("--gradients", "auto").Split(',');
        if (schemes.Any(x => x is not ("auto" or "lockstep" or "fused" or "sphere" or "legacy" or "unpacked"))) throw new ArgumentException("--gradients takes auto, lockstep, fused, sphere, unpacked and/or legacy");
        string[] precisions = Arg("--precision", "fp32").Split(',');
        if (precisions.Any(x => x is not ("fp32" or "bf16"))) throw new ArgumentException("--precision takes fp32 and/or bf16");
        // Every (gradient scheme, precision) pair is one variant, run in the order given for each thread count;
        // a label names what varies.
        var variants = schemes.SelectMany(sc => precisions.Select(pr => (Scheme: sc, Precision: pr))).ToArray();
        string Label((string Scheme, string Precision) v) =>
            variants.Length == 1 ? (v.Precision == "bf16" ? "  bf16" : "")
            : "  " + (precisions.Length > 1 ? v.Scheme + "/" + v.Precision : v.Scheme);
        double bf16Peak = double.NaN;
        if (precisions.Contains("bf16"))
        {
            Console.WriteLine($"bf16 kernel: {(Crystalline.Hpc.Kernels.Gemm.Bf16Native.Available ? "AVX512_BF16 (native)" : "managed emulation: " + Crystalline.Hpc.Kernels.Gemm.Bf16Native.Reason)}");
            bf16Peak = Kernels.FmaPeak.MeasureBf16TileCpu();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bf16 tile on L1-resident panels now, 1 thread, per thread-CPU-second: {bf16Peak:F1} GFLOP/s (%meas of the bf16 rows is against this)"));
        }
        bool profile = Array.IndexOf(args, "--profile") >= 0;
        double peakPerCore = double.Parse(Arg("--peak-gflops-per-core", "210"), CultureInfo.InvariantCulture);
        long n = ParameterLayout.CountParameters(cfg);
        Console.WriteLine($"train-step: {cfg.Describe()}, {n:N0} parameters, {steps} timed steps after {warm} warm-up, peak {peakPerCore} GFLOP/s per core");
        // The nominal peak assumes two full-width FMA pipes on an idle core; the FMA loop's rate now (per
        // thread-CPU-second, so other processes do not lower it) is what this machine's cores give, and
        // %meas is the share of that: on the development VM 512-bit FMAs run at the 256-bit rate.
        double measuredPeak = ThreadClock.Available ? Kernels.FmaPeak.MeasureCpu() : double.NaN;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FMA peak now, 1 thread, per thread-CPU-second: {measuredPeak:F1} GFLOP/s (Vector512)"));
        Console.WriteLine("  B    T  thr   ms/step     tok/s  spheres%  sync%  reduce%  optim%   GFLOP/s  %peak  %meas  cpu-ms/step  GFLOP/cpu-s");
        foreach (var (B, T) in shapes)
        {
            var baseMs = new double[variants.Length];
            var baseBusy = new double[variants.Length];
            foreach (int thr in threads)
            foreach (var variant in variants)
            {
                string scheme = variant.Scheme;
                var precision = variant.Precision == "bf16" ? Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16 : Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Fp32;
                var opt = new TrainerOptions { Model = cfg, BatchSize = B, SeqLen = T, HierarchyDepth = 1, TotalSteps = 1000, WarmupSteps = 10, LearningRate = 1e-4f, Precision = precision };
                using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = thr, HierarchyDepth = 1, CollectTimings = true });
                using var tr = new Trainer(opt, cp, legacyGradientZeroing: scheme == "legacy", prepackWeights: scheme != "unpacked", fuseWeightGradients: scheme switch { "auto" => null, "fused" or "lockstep" => true, _ => false },
                    lockstep: scheme switch { "auto" => null, "lockstep" => true, _ => false });
                var rng = new Random(1);
                int[] inp = new int[B * T], tgt = new int[B * T];
                for (int i = 0; i < inp.Length; i++) { inp[i] = rng.Next(cfg.VocabSize); tgt[i] = rng.Next(cfg.VocabSize); }
                for (int i = 0; i < warm; i++) tr.Step(inp, tgt);
                cp.Statistics.Reset();
                StepProfile.Reset();
                StepProfile.Enabled = profile;
                double compute = 0, reduce = 0, optim = 0;
                var proc = Process.GetCurrentProcess();
                TimeSpan cpu0 = proc.TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < steps; i++)
                {
                    var r = tr.Step(inp, tgt);
                    compute += r.ComputeMs; reduce += r.ReduceMs; optim += r.OptimizerMs;
                }
                StepProfile.Enabled = false;
                double ms = (Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency / steps;
                proc.Refresh();
                // CPU time actually received: on a shared, overloaded machine wall time mostly measures the other processes.
                double cpuMs = (proc.TotalProcessorTime - cpu0).TotalMilliseconds / steps;
                var totals = cp.Statistics.WorkerTotals();
                double syncMs = totals.Sync.TotalMilliseconds / thr / steps; // per step, averaged over workers (epochs and parallel loops)
                double phases = (compute + reduce + optim) / steps;
                double flops = (6.0 * n + 12.0 * cfg.NumLayers * cfg.Channels * T) * B * T;
                double gflops = flops / (ms / 1000.0) / 1e9;
                int si = Array.IndexOf(variants, variant);
                if (thr == threads[0]) baseMs[si] = ms;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{B,3} {T,4} {thr,4} {ms,9:F1} {B * T / (ms / 1000.0),9:F0} {100 * (compute / steps - syncMs) / phases,9:F1} {100 * syncMs / phases,6:F1} {100 * reduce / steps / phases,8:F1} {100 * optim / steps / phases,7:F1} {gflops,9:F1} {100 * gflops / (peakPerCore * thr),6:F1} {100 * gflops / ((precision == Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16 ? bf16Peak : measuredPeak) * thr),6:F1} {cpuMs,12:F0} {flops / (cpuMs / 1000.0) / 1e9,12:F1}{Label(variant)}{(thr != threads[0] ? $"   speed-up vs {threads[0]} thread(s): {baseMs[si] / ms:F2}x" : "")}"));
                if (profile)
                {
                    double busiest = PrintProfile(steps, cpuMs, thr);
                    PrintRegions(steps, ms, thr);
                    if (thr == threads[0]) baseBusy[si] = busiest;
                    else Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"      critical-path (busiest worker CPU) speed-up vs {threads[0]} thread(s): {baseBusy[si] / busiest:F2}x"));
                }
            }
        }
        return 0;
    }

    /// <summary>
    /// Per fork-join region kind, per step: wall time, the busiest worker's item time, the workers' mean item
    /// time, and the difference wall − mean: the time an average worker spent at the region's start and join
    /// (dispatch, wake-up, waiting for the slowest), i.e. what perfect balance and free synchronisation would save.
    /// </summary>
    private static void PrintRegions(int steps, double stepMs, int workers)
    {
        Console.WriteLine("      region (wall per step)        calls     wall ms   busiest ms   mean busy ms   wall-mean ms");
        double wallSum = 0, idleSum = 0;
        foreach (StepRegion region in Enum.GetValues<StepRegion>())
        {
            var (calls, wall, busiest, busy) = StepProfile.Region(region);
            if (calls == 0) continue;
            double w = wall / steps, mean = busy / workers / steps;
            wallSum += w;
            idleSum += w - mean;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"      {region,-28} {calls / (double)steps,6:F0} {w,11:F1} {busiest / steps,12:F1} {mean,14:F1} {w - mean,14:F1}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"      regions {wallSum:F1} of {stepMs:F1} ms/step; waiting at starts and joins {idleSum:F1} ms/step ({100 * idleSum / stepMs:F1}% of the step)"));
    }

    private static double PrintProfile(int steps, double cpuMsPerStep, int workers)
    {
        Span<long> w = stackalloc long[Math.Min(workers, StepProfile.MaxWorkers)];
        StepProfile.ReadWorkers(w);
        double busiest = 0, sumW = 0;
        foreach (long v in w) { busiest = Math.Max(busiest, v / 1e6 / steps); sumW += v / 1e6 / steps; }
        // The busiest worker's CPU time is the step's critical path on dedicated cores (what wall time
        // would be on an idle machine, less the waits): comparing it across thread counts gives a
        // speed-up the other processes on a shared machine do not distort.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"      worker busy CPU ms/step: {string.Join(", ", w.ToArray().Select(v => (v / 1e6 / steps).ToString("F0", CultureInfo.InvariantCulture)))} (sum {sumW:F0}, busiest {busiest:F0})"));
        Span<long> ns = stackalloc long[StepProfile.PhaseCount];
        StepProfile.Read(ns);
        double total = 0;
        foreach (long v in ns) total += v / 1e6 / steps;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      phase (thread CPU, summed over workers)   ms/step   % of phases   (phases {total:F0} of {cpuMsPerStep:F0} process cpu-ms/step)"));
        foreach (StepPhase ph in Enum.GetValues<StepPhase>())
        {
            double ms = ns[(int)ph] / 1e6 / steps;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      {ph,-40} {ms,8:F1} {100 * ms / total,10:F1}"));
        }
        return busiest;
    }
}
