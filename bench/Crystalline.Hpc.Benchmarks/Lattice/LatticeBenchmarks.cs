using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Lattice;

namespace Crystalline.Hpc.Benchmarks.Lattice;

/// <summary>
/// Costs of the lattice mathematics: the <c>--init lattice</c> embedding for a GPT-2 vocabulary
/// (row-hoisted <see cref="LatticeEmbedding.Fill"/> against per-element <see cref="LatticeEmbedding.Value"/>) and
/// θ per call.
/// Run: <c>dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- --filter '*LatticeBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class LatticeBenchmarks
{
    private const int Vocab = 50257, Channels = 768;
    private float[] _wte = [];

    [GlobalSetup]
    public void Setup() => _wte = new float[Vocab * Channels];

    [Benchmark(Baseline = true, Description = "embedding Value per element, 50257x768")]
    public float EmbeddingPerElement()
    {
        float[] w = _wte;
        for (int t = 0; t < Vocab; t++)
            for (int d = 0; d < Channels; d++)
                w[t * Channels + d] = LatticeEmbedding.Value(t, d);
        return w[^1];
    }

    [Benchmark(Description = "embedding Fill, 50257x768")]
    public float EmbeddingFill()
    {
        LatticeEmbedding.Fill(_wte, Channels);
        return _wte[^1];
    }

    [Benchmark(OperationsPerInvoke = 1000, Description = "theta, 1000 calls")]
    public double Theta()
    {
        double s = 0;
        for (int i = 0; i < 1000; i++) s += AngularPosition.Theta(143999 + i, 13343 + i, i, 0.343);
        return s;
    }
}
