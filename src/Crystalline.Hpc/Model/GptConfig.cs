namespace Crystalline.Hpc.Model;

/// <summary>
/// Shape of the CLLM, a GPT-2 decoder: pre-layernorm blocks, learned position embeddings, causal
/// attention, a GELU MLP, a final layernorm and an LM head tied to the token embedding.
/// The field order matches llm.c's checkpoint header (maxT, V, L, NH, C, Vp).
/// </summary>
/// <param name="MaxSeqLen">maxT: longest sequence (rows of the position embedding).</param>
/// <param name="VocabSize">V: real vocabulary size.</param>
/// <param name="PaddedVocabSize">Vp ≥ V: rows of the token embedding (padding rows stay zero and never get gradient).</param>
/// <param name="NumLayers">L: transformer blocks.</param>
/// <param name="NumHeads">NH: attention heads; must divide C.</param>
/// <param name="Channels">C: embedding width.</param>
public sealed record GptConfig(int MaxSeqLen, int VocabSize, int PaddedVocabSize, int NumLayers, int NumHeads, int Channels)
{
    /// <summary>Names accepted by <see cref="FromPreset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small", "gpt2-124M"];

    /// <summary>A preset: "tiny" (L2 NH4 C64, maxT 128, byte vocabulary), "small" (L6 NH6 C384, maxT 256, byte vocabulary)
    /// or "gpt2-124M" (L12 NH12 C768, maxT 1024, V 50257 padded to 50304).</summary>
    /// <exception cref="ArgumentException">unknown preset name.</exception>
    public static GptConfig FromPreset(string name) => name switch
    {
        "tiny" => new GptConfig(128, 256, 256, 2, 4, 64),
        "small" => new GptConfig(256, 256, 256, 6, 6, 384),
        "gpt2-124M" or "gpt2" => new GptConfig(1024, 50257, 50304, 12, 12, 768),
        _ => throw new ArgumentException($"unknown model preset '{name}' (known: {string.Join(", ", PresetNames)})", nameof(name)),
    };

    /// <summary>Vp for a vocabulary: V rounded up to a multiple of 64 (50257 → 50304, as llm.c).</summary>
    public static int PadVocab(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        return checked((vocabSize + 63) / 64 * 64);
    }

    /// <summary>Channels per head.</summary>
    public int HeadSize => Channels / NumHeads;

    /// <summary>Throws <see cref="ArgumentException"/> when the shape is not a valid model.</summary>
    public void Validate()
    {
        if (MaxSeqLen <= 0) throw new ArgumentException($"maxT must be positive, got {MaxSeqLen}");
        if (VocabSize <= 0) throw new ArgumentException($"vocabulary size must be positive, got {VocabSize}");
        if (PaddedVocabSize < VocabSize) throw new ArgumentException($"padded vocabulary {PaddedVocabSize} is smaller than the vocabulary {VocabSize}");
        if (NumLayers <= 0) throw new ArgumentException($"layer count must be positive, got {NumLayers}");
        if (NumHeads <= 0) throw new ArgumentException($"head count must be positive, got {NumHeads}");
        if (Channels <= 0) throw new ArgumentException($"channel count must be positive, got {Channels}");
        if (Channels % NumHeads != 0) throw new ArgumentException($"channels {Channels} are not divisible by the head count {NumHeads}");
        long n = ParameterLayout.CountParameters(this);
        if (n > int.MaxValue) throw new ArgumentException($"model has {n} parameters; at most {int.MaxValue} are supported");
    }

    /// <summary>A short description, e.g. "L12 NH12 C768 V50257 (Vp 50304) maxT1024".</summary>
    public string Describe() => $"L{NumLayers} NH{NumHeads} C{Channels} V{VocabSize} (Vp {PaddedVocabSize}) maxT{MaxSeqLen}";
}
