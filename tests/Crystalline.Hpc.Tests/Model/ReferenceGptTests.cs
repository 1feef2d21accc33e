using Crystalline.Hpc.Model;
using Xunit;

namespace Crystalline.Hpc.Tests.Model;

public class ReferenceGptTests
{
    internal static readonly GptConfig Tiny = new(MaxSeqLen: 8, VocabSize: 11, PaddedVocabSize: 16, NumLayers: 2, NumHeads: 2, Channels: 8);

    /// <summary>Parameters with larger spread than GPT-2's init so every gradient is well above round-off.</summary>
    internal static double[] RandomParameters(GptConfig cfg, ulong seed)
    {
        using var p = new GptParameters(cfg);
        p.Initialize(seed);
        var rng = new DeterministicRandom(seed + 1);
        var lay = p.Layout;
        var d = new double[p.Count];
        for (int i = 0; i < d.Length; i++) d[i] = rng.NextNormal(0, 0.3);
        foreach (var t in new[] { ParameterTensor.Ln1W, ParameterTensor.Ln2W, ParameterTensor.LnfW })
            for (int i = 0; i < lay.Size(t); i++) d[lay.Offset(t) + i] += 1.0;
        // Padded vocabulary rows are zero in a real model.
        for (int i = cfg.VocabSize * cfg.Channels; i < lay.Size(ParameterTensor.Wte); i++) d[i] = 0;
        return d;
    }

    internal static (int[] Inputs, int[] Targets) RandomTokens(int count, int vocab, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        var inp = new int[count]; var tgt = new int[count];
        for (int i = 0; i < count; i++) { inp[i] = (int)(rng.NextUInt64() % (ulong)vocab); tgt[i] = (int)(rng.NextUInt64() % (ulong)vocab); }
        return (inp, tgt);
    }

    [Fact]
    public void Gpt2_124M_has_llm_c_parameter_count()
    {
        var cfg = GptConfig.FromPreset("gpt2-124M");
        Assert.Equal(124_475_904L, ParameterLayout.CountParameters(cfg));
        var lay = new ParameterLayout(cfg);
        Assert.Equal(50304 * 768, lay.Size(ParameterTensor.Wte));
        Assert.Equal(0, lay.Offset(ParameterTensor.Wte));
        Assert.Equal(lay.Count - 768, lay.Offset(ParameterTensor.LnfB));
    }

    [Fact]
    public void Initialisation_is_deterministic_and_has_gpt2_statistics()
    {
        var cfg = new GptConfig(64, 100, 128, 4, 4, 64);
        using var a = new GptParameters(cfg);
        using var b = new GptParameters(cfg);
        a.Initialize(7); b.Initialize(7);
        Assert.True(a.All.SequenceEqual(b.All));
        b.Initialize(8);
        Assert.False(a.All.SequenceEqual(b.All));
        static double Std(ReadOnlySpan<float> s) { double q = 0; foreach (float x in s) q += (double)x * x; return Math.Sqrt(q / s.Length); }
        Assert.InRange(Std(a.Tensor(ParameterTensor.QkvW)), 0.019, 0.021);
        double resid = 0.02 / Math.Sqrt(8);
        Assert.InRange(Std(a.Tensor(ParameterTensor.FcProjW)), resid * 0.95, resid * 1.05);
        Assert.True(a.Tensor(ParameterTensor.Ln1W).ToArray().All(x => x == 1f));
        Assert.True(a.Tensor(ParameterTensor.FcB).ToArray().All(x => x == 0f));
        Assert.True(a.Tensor(ParameterTensor.Wte)[(100 * 64)..].ToArray().All(x => x == 0f)); // padded rows
    }

    [Fact]
    public void Lattice_init_follows_the_formula()
    {
        var cfg = new GptConfig(16, 20, 64, 1, 2, 8);
        using var p = new GptParameters(cfg);
        using var g = new GptParameters(cfg);
        p.Initialize(1, InitMethod.Lattice);
        g.Initialize(1, InitMethod.Gpt2);
        // t = 1, d = 1: ring 0, pos 1, angle −π/3, φ1 = 7 (LATTICE_MATH.md), computed here by hand.
        double expected = Math.Tanh(Math.Pow(3, 1.0 / 12) * Math.Cos(-Math.PI / 3 * 7) * Math.Cos(2 * Math.PI / 12) * Math.Tanh(1.01) / 100);
        Assert.Equal(expected, p.Tensor(ParameterTensor.Wte)[1 * 8 + 1], 6);
        for (int t = 0; t < 20; t++)
            for (int d = 0; d < 8; d++)
                Assert.Equal(Crystalline.Hpc.Lattice.LatticeEmbedding.Value(t, d), p.Tensor(ParameterTensor.Wte)[t * 8 + d]);
        Assert.True(p.Tensor(ParameterTensor.QkvW).SequenceEqual(g.Tensor(ParameterTensor.QkvW))); // the rest stays GPT-2's
    }

    [Fact]
    public void Every_gradient_tensor_matches_central_finite_differences()
    {
        var cfg = Tiny;
        const int B = 2, T = 5;
        double[] p = RandomParameters(cfg, 11);
        var (inp, tgt) = RandomTokens(B * T, cfg.VocabSize, 3);
        var grad = new double[p.Length];
        ReferenceGpt<double>.Run(cfg, p, inp, tgt, B, T, grad);
        var lay = new ParameterLayout(cfg);
        const double eps = 1e-5;
        foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>())
        {
            double diff2 = 0, ref2 = 0;
            for (int i = lay.Offset(t); i < lay.Offset(t) + lay.Size(t); i++)
            {
                double keep = p[i];
                p[i] = keep + eps; double lp = ReferenceGpt<double>.Run(cfg, p, inp, tgt, B, T);
                p[i] = keep - eps; double lm = ReferenceGpt<double>.Run(cfg, p, inp, tgt, B, T);
                p[i] = keep;
                double fd = (lp - lm) / (2 * eps);
                diff2 += (fd - grad[i]) * (fd - grad[i]);
                ref2 += fd * fd;
            }
            Assert.True(ref2 > 0, $"{ParameterLayout.Name(t)}: finite differences all zero");
            double rel = Math.Sqrt(diff2 / ref2);
            Assert.True(rel < 1e-6, $"{ParameterLayout.Name(t)}: relative error {rel:E2}");
        }
    }
}
