using Crystalline.Hpc.Model;

namespace Crystalline.Hpc.Training;

/// <summary>Everything that fixes a training run's arithmetic (the thread count is deliberately absent: it only changes speed).</summary>
internal sealed record TrainerOptions
{
    public required GptConfig Model { get; init; }
    public int BatchSize { get; init; } = 8;
    public int SeqLen { get; init; } = 64;
    public int HierarchyDepth { get; init; } = 1;
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Final learning rate of the cosine decay, as a fraction of <see cref="LearningRate"/>.</summary>
    public float MinLearningRateFraction { get; init; } = 0.1f;
    public int WarmupSteps { get; init; } = 20;
    /// <summary>Length of the cosine schedule (the run's total optimizer steps).</summary>
    public long TotalSteps { get; init; } = 1000;
    public float WeightDecay { get; init; } = 0.1f;
    /// <summary>Global-norm clip; 0 disables clipping.</summary>
    public float GradClip { get; init; } = 1.0f;
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.95f;
    public float Epsilon { get; init; } = 1e-8f;
    /// <summary>Multiply the reduced gradient by (1 − Λ) before clipping (LATTICE_MATH.md).</summary>
    public bool LambdaCorrection { get; init; } = true;
    public ulong Seed { get; init; } = 1337;
    public InitMethod Init { get; init; } = InitMethod.Gpt2;

    /// <summary>
    /// The arithmetic of the linear layers' GEMMs (forward and both backward products): fp32, or bf16
    /// inputs with fp32 accumulation (mixed precision; weights, gradients, optimizer and everything else
    /// stay fp32). Part of <see cref="Hash"/> when bf16, so a run cannot resume at the other precision.
    /// </summary>
    public Kernels.Gemm.GemmPrecision Precision { get; init; } = Kernels.Gemm.GemmPrecision.Fp32;

    /// <summary>12^depth.</summary>
    public int SphereCount
    {
        get
        {
            int n = 1;
            for (int i = 0; i < HierarchyDepth; i++) n *= 12;
            return n;
        }
    }

    /// <exception cref="ArgumentException">an option out of range.</exception>
    public void Validate()
    {
        Model.Validate();
        if (BatchSize <= 0) throw new ArgumentException($"batch size must be positive, got {BatchSize}");
        if (SeqLen <= 0) throw new ArgumentException($"sequence length must be positive, got {SeqLen}");
        if (SeqLen > Model.MaxSeqLen) throw new ArgumentException($"sequence length {SeqLen} exceeds the model's context maxT = {Model.MaxSeqLen}");
        if (HierarchyDepth is < 0 or > 3) throw new ArgumentException($"hierarchy depth must be 0 … 3, got {HierarchyDepth}");
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) throw new ArgumentException($"learning rate must be positive, got {LearningRate}");
        if (!(WeightDecay >= 0)) throw new ArgumentException($"weight decay must be ≥ 0, got {WeightDecay}");
        if (!(GradClip >= 0)) throw new ArgumentException($"clip must be ≥ 0, got {GradClip}");
        if (WarmupSteps < 0) throw new ArgumentException($"warm-up steps must be ≥ 0, got {WarmupSteps}");
        if (TotalSteps <= 0) throw new ArgumentException($"total steps must be positive, got {TotalSteps}");
        Kernels.Gemm.GemmPrecisions.Check(Precision);
        if ((long)BatchSize * SeqLen * Math.Max(Model.PaddedVocabSize, 4 * Model.Channels) > int.MaxValue)
            throw new ArgumentException("batch too large: B·T·Vp must fit in 2^31 floats");
    }

    /// <summary>
    /// The learning rate of optimizer step <paramref name="step"/> (0-based): linear warm-up over
    /// <see cref="WarmupSteps"/>, then cosine decay to <see cref="MinLearningRateFraction"/>·lr at <see cref="TotalSteps"/>.
    /// </summary>
    public float LearningRateAt(long step)
    {
        double lr = LearningRate, min = LearningRate * (double)MinLearningRateFraction;
        if (step < WarmupSteps) return (float)(lr * (step + 1) / WarmupSteps);
        if (step >= TotalSteps) return (float)min;
        double ratio = TotalSteps > WarmupSteps ? (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps) : 1.0;
        return (float)(min + 0.5 * (1.0 + Math.Cos(Math.PI * ratio)) * (lr - min));
    }

    /// <summary>
    /// A hash (FNV-1a over the canonical text) of every option that fixes the arithmetic of a step,
    /// stored in the training state to refuse a mismatched --resume. <see cref="TotalSteps"/> is left
    /// out on purpose: a finished run may be extended to more steps (the cosine schedule then follows
    /// the new total from the resumed step on; docs/training.md).
    /// </summary>
    public ulong Hash() => Fnv1a(CanonicalText(withTotalSteps: false));

    /// <summary>The hash as builds before 2026-11-28 computed it, with <see cref="TotalSteps"/> in it: accepted on --resume so their checkpoints still resume with the same step count.</summary>
    public ulong LegacyHash() => Fnv1a(CanonicalText(withTotalSteps: true));

    private string CanonicalText(bool withTotalSteps) => FormattableString.Invariant(
        $"{Model.MaxSeqLen},{Model.VocabSize},{Model.PaddedVocabSize},{Model.NumLayers},{Model.NumHeads},{Model.Channels}|{BatchSize},{SeqLen},{HierarchyDepth}|{LearningRate:R},{MinLearningRateFraction:R},{WarmupSteps},{(withTotalSteps ? TotalSteps.ToString(System.Globalization.CultureInfo.InvariantCulture) + "," : "")}{WeightDecay:R},{GradClip:R},{Beta1:R},{Beta2:R},{Epsilon:R},{LambdaCorrection}{(Precision == Kernels.Gemm.GemmPrecision.Fp32 ? "" : "|" + Precision)}");

    private static ulong Fnv1a(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }
}
