namespace Crystalline.Hpc.Kernels;

/// <summary>AdamW hyper-parameters (defaults: llm.c train_gpt2.c — β1 0.9, β2 0.999, ε 1e−8, no weight decay).</summary>
internal readonly struct AdamWSettings
{
    public AdamWSettings(float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
    {
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    /// <summary>lr: the step size (finite, ≥ 0).</summary>
    public float LearningRate { get; init; }

    /// <summary>β1: decay of the first moment m, in [0, 1).</summary>
    public float Beta1 { get; init; }

    /// <summary>β2: decay of the second moment v, in [0, 1).</summary>
    public float Beta2 { get; init; }

    /// <summary>ε: added to √v̂ in the denominator (finite, ≥ 0).</summary>
    public float Epsilon { get; init; }

    /// <summary>λ: decoupled weight decay, applied as θ −= lr·λ·θ (finite, ≥ 0; 0 for biases and layernorm parameters in GPT-2).</summary>
    public float WeightDecay { get; init; }
}
