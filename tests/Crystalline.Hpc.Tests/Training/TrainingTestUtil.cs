using Xunit;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Training;

namespace Crystalline.Hpc.Tests.Training;

/// <summary>Runs spheres and items on up to N pool threads (real concurrency, arbitrary order) — the thread count must not change the result.</summary>
internal sealed class PoolExecutor(int depth, int threads) : ISphereExecutor
{
    private readonly ParallelOptions _po = new() { MaxDegreeOfParallelism = threads };
    public int WorkerCount => threads;
    public int SphereCount { get; } = (int)Math.Pow(12, depth);
    public void RunEpoch(ISphereWork work) => Parallel.For(0, SphereCount, _po, s => work.ExecuteSphere(SphereCount - 1 - s, Environment.CurrentManagedThreadId % threads));
    public void RunParallel(IParallelWork work, int itemCount) => Parallel.For(0, itemCount, _po, i => work.ExecuteItem(itemCount - 1 - i, Environment.CurrentManagedThreadId % threads));
}

internal static class TrainingTestUtil
{
    public static readonly GptConfig Tiny = new(MaxSeqLen: 8, VocabSize: 11, PaddedVocabSize: 16, NumLayers: 2, NumHeads: 2, Channels: 8);

    public static TrainerOptions Options(int B, int T, int depth = 1, GptConfig? model = null) => new()
    {
        Model = model ?? Tiny, BatchSize = B, SeqLen = T, HierarchyDepth = depth, LearningRate = 1e-2f, WarmupSteps = 3, TotalSteps = 20, Seed = 5,
    };

    public static GptParameters FloatParameters(GptConfig cfg, double[] values)
    {
        var p = new GptParameters(cfg);
        for (int i = 0; i < values.Length; i++) p.All[i] = (float)values[i];
        return p;
    }

    /// <summary>The loss and every gradient tensor of <paramref name="trainer"/>'s last ComputeGradients within 1e-5 relative of the double reference.</summary>
    public static void AssertMatchesReference(Trainer trainer, double loss, double referenceLoss, double[] referenceGradient)
    {
        Assert.True(Math.Abs(loss - referenceLoss) / referenceLoss < 1e-5, $"loss {loss} vs reference {referenceLoss}");
        var lay = trainer.Parameters.Layout;
        foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>())
        {
            double rel = RelativeError(trainer.Gradient.Slice(lay.Offset(t), lay.Size(t)), referenceGradient.AsSpan(lay.Offset(t), lay.Size(t)));
            Assert.True(rel < 1e-5, $"{ParameterLayout.Name(t)}: relative error {rel:E2}");
        }
    }

    /// <summary>‖a − b‖ / ‖b‖ over one tensor.</summary>
    public static double RelativeError(ReadOnlySpan<float> a, ReadOnlySpan<double> b)
    {
        double d = 0, n = 0;
        for (int i = 0; i < a.Length; i++) { d += (a[i] - b[i]) * (a[i] - b[i]); n += b[i] * b[i]; }
        return n == 0 ? Math.Sqrt(d) : Math.Sqrt(d / n);
    }

    public static int[] Tokens(int count, int vocab, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        var t = new int[count];
        for (int i = 0; i < count; i++) t[i] = (int)(rng.NextUInt64() % (ulong)vocab);
        return t;
    }
}
