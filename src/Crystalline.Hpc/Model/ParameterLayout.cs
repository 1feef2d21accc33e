namespace Crystalline.Hpc.Model;

/// <summary>The 16 parameter tensors, in llm.c's checkpoint order.</summary>
public enum ParameterTensor
{
    /// <summary>Token embedding, Vp×C (also the LM head).</summary>
    Wte,
    /// <summary>Position embedding, maxT×C.</summary>
    Wpe,
    /// <summary>Layernorm 1 weight, L×C.</summary>
    Ln1W,
    /// <summary>Layernorm 1 bias, L×C.</summary>
    Ln1B,
    /// <summary>QKV projection weight, L×3C×C.</summary>
    QkvW,
    /// <summary>QKV projection bias, L×3C.</summary>
    QkvB,
    /// <summary>Attention output projection weight, L×C×C.</summary>
    AttProjW,
    /// <summary>Attention output projection bias, L×C.</summary>
    AttProjB,
    /// <summary>Layernorm 2 weight, L×C.</summary>
    Ln2W,
    /// <summary>Layernorm 2 bias, L×C.</summary>
    Ln2B,
    /// <summary>MLP up-projection weight, L×4C×C.</summary>
    FcW,
    /// <summary>MLP up-projection bias, L×4C.</summary>
    FcB,
    /// <summary>MLP down-projection weight, L×C×4C.</summary>
    FcProjW,
    /// <summary>MLP down-projection bias, L×C.</summary>
    FcProjB,
    /// <summary>Final layernorm weight, C.</summary>
    LnfW,
    /// <summary>Final layernorm bias, C.</summary>
    LnfB,
}

/// <summary>Offsets and sizes of the parameter tensors inside one flat float vector (llm.c order).</summary>
public sealed class ParameterLayout
{
    /// <summary>Number of tensors (16).</summary>
    public const int TensorCount = 16;

    private readonly int[] _offsets = new int[TensorCount];
    private readonly int[] _sizes = new int[TensorCount];

    /// <summary>The layout of <paramref name="config"/>.</summary>
    /// <exception cref="ArgumentException">invalid config.</exception>
    public ParameterLayout(GptConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        long[] sizes = Sizes(config);
        int offset = 0;
        for (int i = 0; i < TensorCount; i++)
        {
            _offsets[i] = offset;
            _sizes[i] = (int)sizes[i];
            offset += (int)sizes[i];
        }
        Count = offset;
    }

    /// <summary>The model shape.</summary>
    public GptConfig Config { get; }

    /// <summary>Total parameter count.</summary>
    public int Count { get; }

    /// <summary>Offset of a tensor in the flat vector.</summary>
    public int Offset(ParameterTensor t) => _offsets[(int)t];

    /// <summary>Element count of a tensor.</summary>
    public int Size(ParameterTensor t) => _sizes[(int)t];

    /// <summary>Offset of layer <paramref name="layer"/>'s slice of a per-layer tensor.</summary>
    public int LayerOffset(ParameterTensor t, int layer) => _offsets[(int)t] + layer * (_sizes[(int)t] / Config.NumLayers);

    /// <summary>llm.c's name of a tensor ("wte", "wpe", "ln1w", …).</summary>
    public static string Name(ParameterTensor t) => t switch
    {
        ParameterTensor.Wte => "wte",
        ParameterTensor.Wpe => "wpe",
        ParameterTensor.Ln1W => "ln1w",
        ParameterTensor.Ln1B => "ln1b",
        ParameterTensor.QkvW => "qkvw",
        ParameterTensor.QkvB => "qkvb",
        ParameterTensor.AttProjW => "attprojw",
        ParameterTensor.AttProjB => "attprojb",
        ParameterTensor.Ln2W => "ln2w",
        ParameterTensor.Ln2B => "ln2b",
        ParameterTensor.FcW => "fcw",
        ParameterTensor.FcB => "fcb",
        ParameterTensor.FcProjW => "fcprojw",
        ParameterTensor.FcProjB => "fcprojb",
        ParameterTensor.LnfW => "lnfw",
        ParameterTensor.LnfB => "lnfb",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>True for the matrices that get weight decay (embeddings and projection weights), false for biases and layernorm parameters.</summary>
    public static bool IsDecayed(ParameterTensor t) => t == ParameterTensor.Wpe || IsLinearWeight(t);

    /// <summary>True for the linear layers' weight matrices: the four of each block and wte, the tied LM head's.</summary>
    public static bool IsLinearWeight(ParameterTensor t) =>
        t is ParameterTensor.Wte or ParameterTensor.QkvW or ParameterTensor.AttProjW or ParameterTensor.FcW or ParameterTensor.FcProjW;

    /// <summary>
    /// A linear weight matrix's shape per layer, stored row-major as output channels × input channels
    /// (wte as the LM head: Vp × C, one "layer").
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="t"/> is not a linear weight.</exception>
    public (int OutChannels, int InChannels) MatrixShape(ParameterTensor t)
    {
        int C = Config.Channels;
        return t switch
        {
            ParameterTensor.Wte => (Config.PaddedVocabSize, C),
            ParameterTensor.QkvW => (3 * C, C),
            ParameterTensor.AttProjW => (C, C),
            ParameterTensor.FcW => (4 * C, C),
            ParameterTensor.FcProjW => (C, 4 * C),
            _ => throw new ArgumentOutOfRangeException(nameof(t), t, "not a linear weight matrix"),
        };
    }

    /// <summary>Total parameter count of <paramref name="c"/> (64-bit, so oversized shapes can be rejected).</summary>
    public static long CountParameters(GptConfig c)
    {
        long total = 0;
        foreach (long s in Sizes(c)) total += s;
        return total;
    }

    private static long[] Sizes(GptConfig c)
    {
        long C = c.Channels, L = c.NumLayers;
        return
        [
            (long)c.PaddedVocabSize * C, (long)c.MaxSeqLen * C,
            L * C, L * C,
            L * 3 * C * C, L * 3 * C,
            L * C * C, L * C,
            L * C, L * C,
            L * 4 * C * C, L * 4 * C,
            L * C * 4 * C, L * C,
            C, C,
        ];
    }
}
