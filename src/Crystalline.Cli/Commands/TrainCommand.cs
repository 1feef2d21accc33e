using System.Globalization;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Training;

namespace Crystalline.Cli.Commands;

/// <summary><c>crystalline train</c>: trains the CLLM on the sphere hierarchy (see docs/training.md).</summary>
internal static class TrainCommand
{
    private static readonly string[] s_flags = ["--enable-work-stealing", "--enable-recursive-spawning", "--lambda-correction"];
    private static readonly string[] s_valued =
    [
        "--data", "--val-data", "--tokenizer", "--model", "--layers", "--heads", "--channels", "--context", "--vocab",
        "--batch-size", "--seq-len", "--steps", "--epochs", "--lr", "--warmup", "--weight-decay", "--clip", "--seed",
        "--num-threads", "--hierarchy-depth", "--thread-allocation-strategy", "--init", "--checkpoint-dir",
        "--checkpoint-every", "--resume", "--val-batches", "--progress-every", "--progress", "--precision",
    ];

    public static int Run(string[] args) => Run(args, Console.Out);

    internal static int Run(string[] args, TextWriter log)
    {
        var a = new CliArgs(args, s_flags, s_valued);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        if (a.Has("--steps") && a.Has("--epochs")) throw new CliUsageException("give --steps or --epochs, not both");
        ThreadAllocationStrategy strategy = ParseStrategy(a.GetString("--thread-allocation-strategy", "round-robin"));

        TrainingProgress progress = CreateProgress(a.GetString("--progress", "auto"), log);

        // ---- model shape: checkpoint (when resuming) → preset → explicit overrides ----
        string? resume = a.GetString("--resume");
        string? resumeModel = null;
        GptConfig cfg;
        try
        {
            if (resume is not null)
            {
                resumeModel = TrainingRun.ResolveResume(resume);
                cfg = GptCheckpoint.ReadConfig(resumeModel);
                if (a.Has("--model") && GptConfig.FromPreset(a.GetString("--model")!) != cfg)
                    throw new CliUsageException($"--model {a.GetString("--model")} does not match the checkpoint's shape {cfg.Describe()} (shape mismatch)");
            }
            else cfg = GptConfig.FromPreset(a.GetString("--model", "tiny"));
        }
        catch (ArgumentException e) { throw new CliUsageException(e.Message); }
        catch (TrainingSetupException e) { throw new CliUsageException(e.Message); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { throw new CliUsageException(e.Message); }
        var wanted = cfg with
        {
            NumLayers = a.GetInt("--layers", cfg.NumLayers, 1, 1024),
            NumHeads = a.GetInt("--heads", cfg.NumHeads, 1, 1024),
            Channels = a.GetInt("--channels", cfg.Channels, 1, 65536),
            MaxSeqLen = a.GetInt("--context", cfg.MaxSeqLen, 1, 1 << 20),
        };
        if (a.Has("--vocab"))
        {
            int v = a.GetInt("--vocab", 0, 1, 1 << 24);
            wanted = wanted with { VocabSize = v, PaddedVocabSize = GptConfig.PadVocab(v) };
        }
        if (resumeModel is not null && wanted != cfg)
            throw new CliUsageException($"the shape options ({wanted.Describe()}) do not match the checkpoint {resumeModel} ({cfg.Describe()}): shape mismatch");
        cfg = wanted;
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new CliUsageException(e.Message); }

        // ---- data ----
        string tokName = a.GetString("--tokenizer", cfg.VocabSize >= 50257 ? "gpt2" : "byte");
        ITextTokenizer tokenizer;
        try { tokenizer = TextTokenizers.Create(tokName); }
        catch (ArgumentException e) { throw new CliUsageException(e.Message); }
        int[] train; int[]? val = null;
        string dataName;
        try
        {
            string? data = a.GetString("--data");
            if (data is null)
            {
                train = tokenizer.Encode(DefaultCorpus.Generate());
                dataName = "built-in corpus (generated grammar, DefaultCorpus)";
            }
            else
            {
                train = TextTokenizers.Load(data, tokenizer);
                dataName = data;
            }
            string? valPath = a.GetString("--val-data");
            if (valPath is not null) val = TextTokenizers.Load(valPath, tokenizer);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { throw new CliUsageException(e.Message); }

        int B = a.GetInt("--batch-size", 8, 1, 1 << 16);
        int T = a.GetInt("--seq-len", Math.Min(64, cfg.MaxSeqLen), 1, 1 << 20);
        int depth = a.GetInt("--hierarchy-depth", 1, 0, 3);
        bool recursive = a.GetFlag("--enable-recursive-spawning", false);
        int spawnedFrom = depth;
        if (recursive)
            while (depth < 3 && Math.Pow(12, depth) < B) depth++; // a sphere spawns 12 children while the batch has more rows than leaves
        int threads = a.GetInt("--num-threads", Environment.ProcessorCount, 1, 4096);
        long stepsPerEpoch = Math.Max(1, (train.Length - 1) / ((long)B * T));
        if (val is null && train.Length >= 2 * ((long)B * T + 1)) stepsPerEpoch = Math.Max(1, (train.Length - Math.Max(train.Length / 10, (long)B * T + 1) - 1) / ((long)B * T));
        long steps = a.Has("--epochs") ? a.GetLong("--epochs", 1, 1, 1_000_000) * stepsPerEpoch : a.GetLong("--steps", 1500, 1, long.MaxValue / 2);
        // The default warm-up scales with --steps; a resumed run keeps the warm-up its checkpoint was
        // trained with, so that a larger --steps extends the run instead of being refused.
        int defaultWarmup = (int)Math.Min(100, Math.Max(1, steps / 20));
        if (resumeModel is not null && SavedSchedule(resumeModel) is { } saved) defaultWarmup = saved.WarmupSteps;
        var options = new TrainerOptions
        {
            Model = cfg,
            BatchSize = B,
            SeqLen = T,
            HierarchyDepth = depth,
            LearningRate = (float)a.GetDouble("--lr", 1e-3, 0, 10),
            WarmupSteps = a.GetInt("--warmup", defaultWarmup, 0, int.MaxValue),
            TotalSteps = steps,
            WeightDecay = (float)a.GetDouble("--weight-decay", 0.1, 0, 10),
            GradClip = (float)a.GetDouble("--clip", 1.0, 0, 1e6),
            LambdaCorrection = a.GetFlag("--lambda-correction", true),
            Seed = (ulong)a.GetLong("--seed", 1337, 0, long.MaxValue),
            Precision = ParsePrecision(a.GetString("--precision", "fp32")),
            Init = a.GetString("--init", "gpt2") switch
            {
                "gpt2" => InitMethod.Gpt2,
                "lattice" => InitMethod.Lattice,
                string s => throw new CliUsageException($"--init must be gpt2 or lattice, got '{s}'"),
            },
        };
        string ckptDir = a.GetString("--checkpoint-dir") ?? (resumeModel is not null
            ? Path.GetDirectoryName(Path.GetFullPath(resumeModel))!
            : Path.Combine("runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        double unigram = UnigramEntropy(train);
        var settings = new TrainingRunSettings
        {
            Trainer = options,
            TrainTokens = train,
            ValTokens = val,
            CheckpointDir = ckptDir,
            CheckpointEvery = a.GetInt("--checkpoint-every", 0, 0, int.MaxValue),
            ResumeFrom = resumeModel,
            ValBatches = a.GetInt("--val-batches", 8, 1, 1 << 20),
            ProgressEvery = a.GetInt("--progress-every", 0, 0, int.MaxValue),
            ReferenceLoss = unigram,
            ReferenceLabel = "unigram entropy",
            Title = $"CLLM {cfg.Describe()}, B={B} T={T}",
        };
        bool stealing = a.GetFlag("--enable-work-stealing", true);

        using var executor = new ControlProcess(new ControlProcessOptions { WorkerCount = threads, HierarchyDepth = depth, EnableWorkStealing = stealing, CollectTimings = true, AllocationStrategy = strategy });
        TrainingRun run;
        try { run = TrainingRun.Prepare(settings, executor); }
        catch (TrainingSetupException e) { throw new CliUsageException(e.Message); }
        catch (TrainingAlreadyCompleteException e)
        {
            // Not an error: rerunning a finished command line is harmless, and nothing is written.
            log.WriteLine($"crystalline train: {e.Message}");
            return 0;
        }
        using (run)
        {
            log.WriteLine($"crystalline train: model {cfg.Describe()}, {run.Trainer.Parameters.Count:N0} parameters, init {options.Init}");
            log.WriteLine(FormattableString.Invariant(
                $"data: {dataName}: {train.Length:N0} tokens ({tokenizer.Name} tokenizer), unigram entropy {unigram:F3} nats/token; {stepsPerEpoch:N0} steps per epoch"));
            if (run.Note is not null) log.WriteLine($"note: {run.Note}");
            log.WriteLine(FormattableString.Invariant(
                $"batch B={B} × T={T} = {B * T} tokens/step; {steps} steps; lr {options.LearningRate} (warm-up {options.WarmupSteps}, cosine to {options.MinLearningRateFraction}×); weight decay {options.WeightDecay}; clip {options.GradClip}; Λ correction {(options.LambdaCorrection ? "on (×(1 − 3/144000))" : "off")}"));
            log.WriteLine(options.Precision == Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16
                ? $"precision: bf16 mixed (linear-layer GEMM inputs rounded to bf16, fp32 accumulation, fp32 weights, gradients and optimizer); kernel: {(Crystalline.Hpc.Kernels.Gemm.Bf16Native.Available ? "AVX512_BF16 (native)" : "managed emulation, slower than fp32: " + Crystalline.Hpc.Kernels.Gemm.Bf16Native.Reason)}"
                : "precision: fp32");
            log.WriteLine($"hierarchy depth {depth}{(recursive && depth != spawnedFrom ? $" (recursive spawning from {spawnedFrom})" : "")}: {options.SphereCount} leaf spheres, {run.Trainer.ActiveSpheres.Count} hold rows; work stealing {(stealing ? "on" : "off")}");
            log.Write(executor.Allocation.Describe());
            foreach (var p in executor.Placements)
                log.WriteLine($"  worker {p.Worker}: cpu {p.Cpu}, node {p.NumaNode}, {(p.Pinned ? "pinned" : "not pinned: " + p.PinError)}, spheres {string.Join(",", executor.SpheresOf(p.Worker).ToArray().Take(24))}{(executor.SpheresOf(p.Worker).Length > 24 ? ",…" : "")}");
            long arena = 0, grads = 0;
            foreach (int s in run.Trainer.ActiveSpheres)
            {
                var ws = run.Trainer.Sphere(s)!;
                arena += ws.ArenaBytes + ws.PackedInputBytes;
                grads += ws.GradientBytes;
            }
            log.WriteLine(FormattableString.Invariant($"memory: activation arenas {arena / 1048576.0:F1} MiB (with the packed inputs of the deferred weight gradients), gradient buffers {grads / 1048576.0:F1} MiB over {run.Trainer.ActiveSpheres.Count} spheres"));
            log.WriteLine(run.Trainer.RunsInLockstep
                ? "execution: spheres in lockstep (stage by stage; each weight product serves every sphere's rows at once)"
                : $"execution: one epoch per step, each sphere its whole forward and backward{(run.Trainer.PrepacksWeights ? " (weights packed once per step)" : "")}");
            log.WriteLine($"weight gradients: {(run.Trainer.FusesWeightGradients ? "fused with the tree reduction, block by block" : "per sphere, then the tree reduction")}");
            if (run.StartStep > 0) log.WriteLine($"resuming from {resumeModel} at step {run.StartStep} of {steps}");
            if (run.ResumeNote is not null) log.WriteLine($"note: {run.ResumeNote}");
            log.WriteLine($"checkpoints, metrics.csv and loss.png in {Path.GetFullPath(ckptDir)}");
            try { run.Run(log, progress); }
            catch (InvalidOperationException e) when (e.Message.StartsWith("loss became", StringComparison.Ordinal))
            {
                // Divergence is not a usage error: report it plainly (exit code 1); checkpoints written so far stay.
                Console.Error.WriteLine($"crystalline train: {e.Message}");
                return 1;
            }
            log.WriteLine("scheduler statistics:");
            log.Write(executor.Statistics.ToTable(maxSphereRows: 24));
        }
        return 0;
    }

    /// <summary>The schedule recorded in the checkpoint's training state, or null (not recorded, or a file Prepare will report on).</summary>
    private static (long TotalSteps, int WarmupSteps)? SavedSchedule(string modelPath)
    {
        string? statePath = TrainingRun.StatePathOf(modelPath);
        if (statePath is null) return null;
        try { return TrainingState.ReadSchedule(statePath); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>A --precision value: fp32 (default) or bf16; anything else is a usage error.</summary>
    internal static Crystalline.Hpc.Kernels.Gemm.GemmPrecision ParsePrecision(string name) => name switch
    {
        "fp32" => Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Fp32,
        "bf16" => Crystalline.Hpc.Kernels.Gemm.GemmPrecision.Bf16,
        _ => throw new CliUsageException($"--precision must be fp32 or bf16, got '{name}'"),
    };

    /// <summary>A --thread-allocation-strategy value; anything but the three names is a usage error listing them.</summary>
    internal static ThreadAllocationStrategy ParseStrategy(string name) =>
        ThreadAllocationStrategyNames.TryParse(name, out var strategy)
            ? strategy
            : throw new CliUsageException($"--thread-allocation-strategy must be one of {string.Join(", ", ThreadAllocationStrategyNames.All)} (LATTICE_MATH.md's is round-robin), got '{name}'");

    /// <summary>
    /// auto: a bar redrawn in place when standard output is a terminal (not redirected, TERM not
    /// "dumb"), one line per report otherwise; bar or lines force either.
    /// </summary>
    private static TrainingProgress CreateProgress(string mode, TextWriter log)
    {
        bool interactive = mode switch
        {
            "auto" => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb",
            "bar" => true,
            "lines" => false,
            _ => throw new CliUsageException($"--progress must be auto, bar or lines, got '{mode}'"),
        };
        int width = 0;
        if (interactive && !Console.IsOutputRedirected)
        {
            try { width = Console.WindowWidth; }
            catch (Exception e) when (e is IOException or PlatformNotSupportedException) { } // no console window: the bar is not cut
        }
        return new TrainingProgress(log, interactive, width);
    }

    /// <summary>−Σ p·ln p over the token frequencies (nats): the loss of the best context-free model.</summary>
    internal static double UnigramEntropy(int[] tokens)
    {
        var counts = new Dictionary<int, long>();
        foreach (int t in tokens) counts[t] = counts.GetValueOrDefault(t) + 1;
        double h = 0;
        foreach (long c in counts.Values) { double p = (double)c / tokens.Length; h -= p * Math.Log(p); }
        return h;
    }
}
