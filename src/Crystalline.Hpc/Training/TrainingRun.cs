using System.Diagnostics;
using System.Globalization;
using System.Text;
using Crystalline.Hpc.Lattice;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Training;

/// <summary>A problem with the options or input files, found before anything is written (the CLI exits with code 2).</summary>
internal sealed class TrainingSetupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>--resume from a checkpoint that already has the requested steps: nothing to train, nothing written (the CLI exits with code 0).</summary>
internal sealed class TrainingAlreadyCompleteException(long step, long totalSteps)
    : Exception($"--resume: already at step {step} of {totalSteps}; nothing to do (pass a larger --steps to extend the run)")
{
    public long Step { get; } = step;
    public long TotalSteps { get; } = totalSteps;
}

/// <summary>What a training run needs besides the trainer options.</summary>
internal sealed record TrainingRunSettings
{
    public required TrainerOptions Trainer { get; init; }
    public required int[] TrainTokens { get; init; }
    /// <summary>Validation tokens; null: the last 10% of <see cref="TrainTokens"/> (when the corpus is large enough).</summary>
    public int[]? ValTokens { get; init; }
    public required string CheckpointDir { get; init; }
    /// <summary>Write a checkpoint every N steps (0: only at the end).</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>A checkpoint file (model_NNNNNNNN.bin) or a directory holding checkpoints (the latest is taken).</summary>
    public string? ResumeFrom { get; init; }
    public int ValBatches { get; init; } = 8;
    /// <summary>Progress line every N steps (0: about 40 lines per run).</summary>
    public int ProgressEvery { get; init; }
    /// <summary>A reference level for the loss plot (e.g. the unigram entropy), NaN for none.</summary>
    public double ReferenceLoss { get; init; } = double.NaN;
    public string ReferenceLabel { get; init; } = "";
    public string Title { get; init; } = "CLLM training";
}

/// <summary>
/// The training loop around <see cref="Trainer"/>: data, validation on 144000-token boundary
/// crossings, checkpoints (llm.c model file + training-state file, each written atomically), resume,
/// metrics CSV and loss PNG, and the per-epoch hierarchy statistics.
/// </summary>
internal sealed class TrainingRun : IDisposable
{
    private readonly TrainingRunSettings _s;
    private readonly Trainer _trainer;
    private readonly DataLoader _train;
    private readonly DataLoader? _val;
    private readonly MetricsLog _metrics = new();
    private readonly long _startStep;
    private double _computeMs, _reduceMs, _optimizerMs, _epochWallMs;

    private TrainingRun(TrainingRunSettings s, Trainer trainer, DataLoader train, DataLoader? val, long startStep)
    {
        _s = s; _trainer = trainer; _train = train; _val = val; _startStep = startStep;
    }

    public Trainer Trainer => _trainer;
    public long StartStep => _startStep;
    public DataLoader? Validation => _val;
    public MetricsLog Metrics => _metrics;
    /// <summary>A remark for the user about the setup (e.g. validation off), or null.</summary>
    public string? Note { get; private init; }
    /// <summary>When a resumed run has a different total than the run that saved the checkpoint: what that does to the schedule; else null.</summary>
    public string? ResumeNote { get; private init; }

    public static string ModelFileName(long step) => $"model_{step:D8}.bin";
    public static string StateFileName(long step) => $"state_{step:D8}.bin";

    /// <summary>The training-state file that belongs to a model_NNNNNNNN.bin (same folder, same step), or null when the name carries no step.</summary>
    public static string? StatePathOf(string modelPath)
    {
        if (!TryStepOf(modelPath, out long step)) return null;
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, StateFileName(step));
    }

    /// <summary>Finds the checkpoint to resume from: the file itself, or the highest-step model_*.bin with its state file in a directory.</summary>
    public static string ResolveResume(string path)
    {
        if (Directory.Exists(path))
        {
            string? best = null; long bestStep = -1;
            foreach (string f in Directory.EnumerateFiles(path, "model_*.bin"))
            {
                if (TryStepOf(f, out long st) && st > bestStep && File.Exists(Path.Combine(path, StateFileName(st)))) { best = f; bestStep = st; }
            }
            return best ?? throw new TrainingSetupException($"--resume: no checkpoint (model_NNNNNNNN.bin with its state_NNNNNNNN.bin) in {path}");
        }
        if (!File.Exists(path)) throw new TrainingSetupException($"--resume: {path} does not exist");
        return path;
    }

    private static bool TryStepOf(string modelPath, out long step)
    {
        string name = Path.GetFileNameWithoutExtension(modelPath);
        step = -1;
        return name.StartsWith("model_", StringComparison.Ordinal) && long.TryParse(name.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out step);
    }

    /// <summary>Checks every option and input and builds the run; writes nothing.</summary>
    /// <remarks>
    /// Resuming: every option in <see cref="TrainerOptions.Hash"/> must match the checkpoint's run; the
    /// total may differ. A larger total extends the run (the schedule follows the new total from the
    /// saved step: see <see cref="ResumeNote"/>); the same total continues bitwise as if never stopped.
    /// </remarks>
    /// <exception cref="TrainingSetupException">bad options, bad or mismatched files, a corpus that is empty or shorter than one batch.</exception>
    /// <exception cref="TrainingAlreadyCompleteException">resuming a checkpoint whose step is already ≥ the requested total (checked after everything else).</exception>
    public static TrainingRun Prepare(TrainingRunSettings s, ISphereExecutor executor)
    {
        ArgumentNullException.ThrowIfNull(s);
        var o = s.Trainer;
        try { o.Validate(); }
        catch (ArgumentException e) { throw new TrainingSetupException(e.Message, e); }
        if (s.CheckpointEvery < 0) throw new TrainingSetupException("--checkpoint-every must be ≥ 0");
        int[] trainTokens = s.TrainTokens, valTokens = s.ValTokens ?? [];
        long need = (long)o.BatchSize * o.SeqLen + 1;
        string? valNote = null;
        if (s.ValTokens is null)
        {
            int n = trainTokens.Length;
            int valCount = (int)Math.Max(n / 10, need);
            if (n - valCount >= need)
            {
                valTokens = trainTokens[(n - valCount)..];
                trainTokens = trainTokens[..(n - valCount)];
            }
            else valNote = "corpus too small to hold out a validation split: validation is off";
        }
        DataLoader train;
        try
        {
            train = new DataLoader(trainTokens, o.BatchSize, o.SeqLen, o.Model.VocabSize, "training corpus");
        }
        catch (ArgumentException e) { throw new TrainingSetupException(e.Message, e); }
        DataLoader? valLoader = null;
        if (valTokens.Length > 0 || s.ValTokens is not null)
        {
            try { valLoader = new DataLoader(valTokens, o.BatchSize, o.SeqLen, o.Model.VocabSize, "validation data"); }
            catch (ArgumentException e) { throw new TrainingSetupException(e.Message, e); }
        }

        ulong fingerprint = TrainingState.Fingerprint(trainTokens);
        GptParameters? weights = null;
        TrainingState? state = null;
        try
        {
            if (s.ResumeFrom is not null)
            {
                string modelPath = ResolveResume(s.ResumeFrom);
                try { weights = GptCheckpoint.Read(modelPath); }
                catch (InvalidDataException e) { throw new TrainingSetupException(e.Message, e); }
                if (weights.Config != o.Model)
                    throw new TrainingSetupException($"--resume: checkpoint shape {weights.Config.Describe()} does not match the requested model {o.Model.Describe()}");
                if (!TryStepOf(modelPath, out long step)) throw new TrainingSetupException($"--resume: cannot tell the step from the name {Path.GetFileName(modelPath)} (expected model_NNNNNNNN.bin)");
                string statePath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, StateFileName(step));
                if (!File.Exists(statePath)) throw new TrainingSetupException($"--resume: training-state file {statePath} is missing");
                try { state = TrainingState.Read(statePath, weights.Count, o.SphereCount); }
                catch (InvalidDataException e) { throw new TrainingSetupException(e.Message, e); }
                if (state.Step != step) throw new TrainingSetupException($"--resume: {statePath} holds step {state.Step}, the file name says {step}");
                bool recorded = state.TotalSteps > 0;
                if (recorded && state.WarmupSteps != o.WarmupSteps)
                    throw new TrainingSetupException($"--resume: the checkpoint's run warmed up over {state.WarmupSteps} steps, this run asks for {o.WarmupSteps}; resume with --warmup {state.WarmupSteps}");
                // Checkpoints of builds before 2026-11-28 hashed the step count too: they resume with their original --steps.
                if (state.OptionsHash != o.Hash() && state.OptionsHash != o.LegacyHash())
                    throw new TrainingSetupException("--resume: the options that fix the arithmetic (model, batch size, sequence length, hierarchy depth, learning rate, warm-up, weight decay, clip, Λ correction) differ from the checkpoint's run; resume with the same options (only --steps or --epochs may change)"
                        + (recorded ? "" : "; this checkpoint predates resizable runs: also keep its original --steps"));
                if (state.DataPosition > train.TokenCount) throw new TrainingSetupException($"--resume: data position {state.DataPosition} is beyond the training corpus ({train.TokenCount} tokens): different data?");
                if (state.DataFingerprint != 0 && state.DataFingerprint != fingerprint)
                    throw new TrainingSetupException("--resume: the training tokens differ from the checkpoint's run (different --data, --val-data or tokenizer); resume with the same data");
                if (state.Step >= o.TotalSteps) throw new TrainingAlreadyCompleteException(state.Step, o.TotalSteps);
            }
            else if (Directory.Exists(s.CheckpointDir) && Directory.EnumerateFiles(s.CheckpointDir, "model_*.bin").Any())
            {
                throw new TrainingSetupException($"checkpoint directory {s.CheckpointDir} already holds checkpoints; pass --resume {s.CheckpointDir} to continue, or choose another --checkpoint-dir");
            }
            if (executor.SphereCount != o.SphereCount)
                throw new TrainingSetupException($"executor runs {executor.SphereCount} spheres, depth {o.HierarchyDepth} needs {o.SphereCount}");
            var trainer = new Trainer(o, executor, weights);
            if (state is not null)
            {
                trainer.LoadState(state);
                train.Position = state.DataPosition;
            }
            trainer.State.DataFingerprint = fingerprint;
            var run = new TrainingRun(s, trainer, train, valLoader, state?.Step ?? 0) { Note = valNote, ResumeNote = state is null ? null : DescribeResize(state, o) };
            if (state is not null) run._metrics.LoadPrefix(Path.Combine(s.CheckpointDir, "metrics.csv"), state.Step);
            return run;
        }
        finally
        {
            weights?.Dispose();
            state?.Dispose();
        }
    }

    /// <summary>How a changed total moves the learning rate at the resumed step; null when the total is unchanged.</summary>
    private static string? DescribeResize(TrainingState saved, TrainerOptions o)
    {
        if (saved.TotalSteps == o.TotalSteps) return null;
        float now = o.LearningRateAt(saved.Step);
        if (saved.TotalSteps <= 0)
            return FormattableString.Invariant($"the checkpoint does not record its run's total; the learning-rate schedule follows this run's {o.TotalSteps} steps (lr at step {saved.Step}: {now:0.000e+00})");
        float before = (o with { TotalSteps = saved.TotalSteps }).LearningRateAt(saved.Step);
        // Warm-up rates do not depend on the total: a run saved before its warm-up ended has taken exactly
        // the steps an uninterrupted run with the new total would have.
        string consequence = saved.Step <= o.WarmupSteps
            ? $"the {saved.Step} steps so far were all warm-up, which does not depend on the total, so this continues exactly as an uninterrupted {o.TotalSteps}-step run with --warmup {o.WarmupSteps}"
            : $"the {saved.Step - o.WarmupSteps} steps after the warm-up followed the {saved.TotalSteps}-step schedule, so the result is not bitwise that of an uninterrupted {o.TotalSteps}-step run";
        return FormattableString.Invariant(
            $"{(o.TotalSteps > saved.TotalSteps ? "extending" : "shortening")} the run from {saved.TotalSteps} to {o.TotalSteps} steps: the cosine learning-rate schedule now follows {o.TotalSteps} steps (lr at step {saved.Step}: {before:0.000e+00} in the saved run's schedule, {now:0.000e+00} now); {consequence}");
    }

    /// <summary>Mean loss over up to <see cref="TrainingRunSettings.ValBatches"/> validation batches, always from the start of the validation data (so it does not depend on history).</summary>
    public double Validate(int[] inputs, int[] targets)
    {
        if (_val is null) return double.NaN;
        _val.Position = 0;
        long batches = Math.Min(_s.ValBatches, _val.BatchesPerEpoch);
        double sum = 0;
        for (long b = 0; b < batches; b++)
        {
            _val.Next(inputs, targets);
            sum += _trainer.Evaluate(inputs, targets);
        }
        return sum / batches;
    }

    /// <summary>Writes model_NNNNNNNN.bin and state_NNNNNNNN.bin (state first, each atomic) and the metrics CSV.</summary>
    public string SaveCheckpoint()
    {
        Directory.CreateDirectory(_s.CheckpointDir);
        long step = _trainer.State.Step;
        _trainer.State.DataPosition = _train.Position;
        _trainer.State.Write(Path.Combine(_s.CheckpointDir, StateFileName(step)));
        string model = Path.Combine(_s.CheckpointDir, ModelFileName(step));
        GptCheckpoint.Write(model, _trainer.Parameters);
        _metrics.WriteCsv(Path.Combine(_s.CheckpointDir, "metrics.csv"));
        return model;
    }

    /// <summary>Trains from the current step to <see cref="TrainerOptions.TotalSteps"/>, printing progress to <paramref name="log"/> one line per report.</summary>
    public void Run(TextWriter log) => Run(log, new TrainingProgress(log, interactive: false));

    /// <summary>
    /// Trains from the current step to <see cref="TrainerOptions.TotalSteps"/>. Progress goes to
    /// <paramref name="progress"/> (a bar redrawn in place on a terminal, lines otherwise); every other
    /// line to <paramref name="log"/>, the same writer, after the bar's line is ended.
    /// </summary>
    public void Run(TextWriter log, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(progress);
        var o = _trainer.Options;
        int n = o.BatchSize * o.SeqLen;
        var inputs = new int[n]; var targets = new int[n];
        long total = o.TotalSteps;
        long every = _s.ProgressEvery > 0 ? _s.ProgressEvery : Math.Max(1, (total - _startStep) / 40);
        long intervalStart = Stopwatch.GetTimestamp(); long intervalSteps = 0;
        double lastVal = double.NaN;
        long epoch = _startStep / Math.Max(1, _train.BatchesPerEpoch);
        long epochStart = Stopwatch.GetTimestamp();
        _trainer.ResetStatistics();
        try
        {
            for (long step = _startStep; step < total; step++)
            {
                bool wrapped = _train.Next(inputs, targets);
                if (wrapped)
                {
                    _epochWallMs += Elapsed(epochStart);
                    progress.EndBar();
                    WriteHierarchyStats(log, $"epoch {epoch} done");
                    epoch++;
                    epochStart = Stopwatch.GetTimestamp();
                }
                long t0 = Stopwatch.GetTimestamp();
                StepResult r = _trainer.Step(inputs, targets);
                double ms = Elapsed(t0);
                _computeMs += r.ComputeMs; _reduceMs += r.ReduceMs; _optimizerMs += r.OptimizerMs;
                _trainer.State.DataPosition = _train.Position;
                intervalSteps++;
                double val = double.NaN;
                if (r.BoundaryCrossings > 0)
                {
                    val = lastVal = Validate(inputs, targets);
                    progress.WriteLine(FormattableString.Invariant(
                        $"  ◆ 144000-token boundary crossed at step {r.Step} ({_trainer.State.TokensProcessed:N0} tokens, {_trainer.State.TokensProcessed / LatticeConstants.VectorCulmination} crossings): validation loss {val:F4}"));
                }
                _metrics.Add(new MetricsRow(r.Step, r.Loss, val, r.LearningRate, r.GradNorm, ms, n / (ms / 1000.0), _trainer.State.TokensProcessed / LatticeConstants.VectorCulmination));
                double intervalMs = Elapsed(intervalStart);
                if (progress.IsDue(r.Step, total, every, firstOfRun: step == _startStep, intervalMs))
                {
                    double avgMs = intervalMs / intervalSteps;
                    progress.Report(new ProgressSnapshot(r.Step, total, r.Loss, n / (avgMs / 1000.0), avgMs, r.LearningRate, r.GradNorm));
                    intervalStart = Stopwatch.GetTimestamp(); intervalSteps = 0;
                }
                if (!double.IsFinite(r.Loss)) throw new InvalidOperationException($"loss became {r.Loss} at step {r.Step}; lower --lr");
                if (_s.CheckpointEvery > 0 && r.Step % _s.CheckpointEvery == 0 && r.Step != total)
                    progress.WriteLine($"  checkpoint {SaveCheckpoint()}");
            }
        }
        finally
        {
            progress.EndBar(); // an error message or the statistics below start on their own line
        }
        _epochWallMs += Elapsed(epochStart);
        double finalVal = Validate(inputs, targets);
        _metrics.SetLastValLoss(finalVal);
        WriteHierarchyStats(log, $"end of run (epoch {epoch})");
        if (!double.IsNaN(finalVal)) log.WriteLine(FormattableString.Invariant($"validation loss {finalVal:F4} (last at a boundary crossing: {lastVal:F4})"));
        log.WriteLine($"checkpoint {SaveCheckpoint()}");
        string png = Path.Combine(_s.CheckpointDir, "loss.png");
        _metrics.WritePng(png, _s.Title, _s.ReferenceLoss, _s.ReferenceLabel);
        log.WriteLine($"metrics {Path.Combine(_s.CheckpointDir, "metrics.csv")}, loss curve {png}");
    }

    private static double Elapsed(long t0) => (Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency;

    /// <summary>Work per sphere and worker, share of time in compute, sync, reduction and optimizer, and boundary crossings per sphere.</summary>
    public void WriteHierarchyStats(TextWriter log, string title)
    {
        var sb = new StringBuilder();
        double tick = 1000.0 / Stopwatch.Frequency;
        double busy = 0;
        foreach (int s in _trainer.ActiveSpheres) busy += _trainer.SphereBusyTicks[s] * tick;
        // In lockstep the weight products serve all spheres at once: their time counts as busy, and each sphere's
        // work is its stages plus its share of the products by rows.
        bool lockstep = _trainer.RunsInLockstep;
        LockstepCounters counters = _trainer.LockstepStatistics;
        double productMs = lockstep ? counters.ProductTicks * tick : 0;
        busy += productMs;
        long totalRows = 0;
        foreach (int s in _trainer.ActiveSpheres) totalRows += _trainer.Sphere(s)!.RowCount;
        int workers = _trainer.Executor.WorkerCount;
        double phases = _computeMs + _reduceMs + _optimizerMs;
        // Sync: worker time inside the forward and backward not spent running a sphere's work (waiting at the ends of
        // epochs or lockstep stages and products, stealing, dispatch).
        double sync = Math.Max(0, _computeMs * workers - busy) / workers;
        sb.AppendLine(FormattableString.Invariant($"hierarchy statistics, {title}: {_trainer.ActiveSpheres.Count} of {_trainer.Options.SphereCount} spheres hold rows, {workers} worker(s)"));
        if (phases > 0)
            sb.AppendLine(FormattableString.Invariant(
                $"  time: spheres (forward+backward) {100 * (_computeMs - sync) / phases:F1}% | sync {100 * sync / phases:F1}% | reduction {100 * _reduceMs / phases:F1}% | optimizer {100 * _optimizerMs / phases:F1}%"));
        var stats = (_trainer.Executor as ControlProcess)?.Statistics;
        if (lockstep)
            sb.AppendLine("  (spheres in lockstep: runs and steals count stage items; work-ms adds each sphere's share of the weight products by rows)");
        sb.Append("  sphere  rows  work-ms    tokens  crossings").Append(stats is null ? "\n" : "  runs(total)  stolen(total)\n");
        foreach (int s in _trainer.ActiveSpheres)
        {
            long tok = _trainer.State.SphereTokens[s];
            int rows = _trainer.Sphere(s)!.RowCount;
            double work = _trainer.SphereBusyTicks[s] * tick + (totalRows > 0 ? productMs * rows / totalRows : 0);
            sb.Append(FormattableString.Invariant(
                $"  {s,6} {rows,5} {work,8:F0} {tok,9} {tok / LatticeConstants.VectorCulmination,10}"));
            if (stats is not null)
            {
                var c = stats.Sphere(s);
                long sphereRuns = lockstep ? counters.StageRuns[s] : c.WorkItems, steals = lockstep ? counters.StageSteals[s] : c.StealsGiven;
                sb.Append(CultureInfo.InvariantCulture, $" {sphereRuns,12} {steals,14}");
            }
            sb.AppendLine();
        }
        var runs = _trainer.WorkerSphereRuns;
        sb.Append("  spheres run per worker:");
        for (int w = 0; w < runs.Length; w++) sb.Append(CultureInfo.InvariantCulture, $" w{w}={runs[w]}");
        sb.AppendLine();
        sb.Append(CultureInfo.InvariantCulture, $"  144000-token boundary crossings: {_trainer.State.TokensProcessed / LatticeConstants.VectorCulmination} ({_trainer.State.TokensProcessed:N0} tokens)");
        log.WriteLine(sb.ToString());
        _trainer.ResetStatistics();
        _computeMs = _reduceMs = _optimizerMs = 0;
    }

    public void Dispose() => _trainer.Dispose();
}
