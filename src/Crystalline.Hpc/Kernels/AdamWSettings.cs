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

    public float LearningRate { get; init; }
    public float Beta1 { get; init; }
    public float Beta2 { get; init; }
    public float Epsilon { get; init; }
    public float WeightDecay { get; init; }
}
