using Crystalline.Hpc.Lattice;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Model;

/// <summary>How the weights of a new model are initialised.</summary>
public enum InitMethod
{
    /// <summary>GPT-2's: N(0, 0.02) for embeddings and projections, residual projections (attproj, fcproj) scaled by 1/√(2L), biases 0, layernorm weights 1.</summary>
    Gpt2,
    /// <summary>As <see cref="Gpt2"/>, but the token embedding rows come from the lattice formula (LATTICE_MATH.md, "lattice embedding").</summary>
    Lattice,
}

/// <summary>
/// All weights of one model in one 64-byte-aligned native buffer, laid out as llm.c
/// (<see cref="ParameterLayout"/>), with a span view per tensor.
/// </summary>
public sealed unsafe class GptParameters : IDisposable
{
    private readonly AlignedBuffer<float> _buffer;

    /// <summary>Zeroed parameters for <paramref name="config"/>.</summary>
    /// <exception cref="ArgumentException">invalid config.</exception>
    public GptParameters(GptConfig config, int numaNode = -1)
    {
        Layout = new ParameterLayout(config);
        _buffer = new AlignedBuffer<float>(Layout.Count, numaNode);
    }

    /// <summary>The model shape.</summary>
    public GptConfig Config => Layout.Config;

    /// <summary>Where each tensor sits.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>Parameter count.</summary>
    public int Count => Layout.Count;

    /// <summary>All parameters, flat.</summary>
    public Span<float> All => _buffer.Span;

    /// <summary>Pointer to the first parameter (64-byte aligned).</summary>
    public float* Pointer => _buffer.Pointer;

    /// <summary>One tensor's view.</summary>
    public Span<float> Tensor(ParameterTensor t) => _buffer.Slice(Layout.Offset(t), Layout.Size(t));

    /// <summary>Copies every value from <paramref name="other"/> (same shape).</summary>
    public void CopyFrom(GptParameters other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Config != Config) throw new ArgumentException("parameter shapes differ", nameof(other));
        other.All.CopyTo(All);
    }

    /// <summary>
    /// Fills the weights deterministically from <paramref name="seed"/>. Tensors are drawn in llm.c
    /// order from one xoshiro256** stream; the padded vocabulary rows of wte stay zero.
    /// </summary>
    public void Initialize(ulong seed, InitMethod method = InitMethod.Gpt2)
    {
        var rng = new DeterministicRandom(seed);
        var c = Config;
        double residualStd = 0.02 / Math.Sqrt(2.0 * c.NumLayers);
        All.Clear();
        Span<float> wte = Tensor(ParameterTensor.Wte);
        for (int i = 0; i < c.VocabSize * c.Channels; i++) wte[i] = (float)rng.NextNormal(0, 0.02);
        if (method == InitMethod.Lattice)
        {
            for (int t = 0; t < c.VocabSize; t++)
                for (int d = 0; d < c.Channels; d++)
                    wte[t * c.Channels + d] = LatticeEmbedding.Value(t, d);
        }
        Normal(rng, Tensor(ParameterTensor.Wpe), 0.02);
        Tensor(ParameterTensor.Ln1W).Fill(1f);
        Normal(rng, Tensor(ParameterTensor.QkvW), 0.02);
        Normal(rng, Tensor(ParameterTensor.AttProjW), residualStd);
        Tensor(ParameterTensor.Ln2W).Fill(1f);
        Normal(rng, Tensor(ParameterTensor.FcW), 0.02);
        Normal(rng, Tensor(ParameterTensor.FcProjW), residualStd);
        Tensor(ParameterTensor.LnfW).Fill(1f);
    }

    private static void Normal(DeterministicRandom rng, Span<float> dst, double std)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = (float)rng.NextNormal(0, std);
    }

    /// <summary>Frees the native buffer.</summary>
    public void Dispose() => _buffer.Dispose();
}
