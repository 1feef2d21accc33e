using System.Buffers.Binary;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Training;
using Xunit;

namespace Crystalline.Hpc.Tests.Training;

/// <summary>Compares with PyTorch (Fixtures/make_torch_fixture.py, run with Debian's python3-torch in float64).</summary>
public class TorchFixtureTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    [Fact]
    public void Loss_logits_and_gradients_match_pytorch()
    {
        using var weights = GptCheckpoint.Read(Fixture("torch_tiny_model.bin"));
        byte[] e = File.ReadAllBytes(Fixture("torch_tiny_expected.bin"));
        int H(int i) => BinaryPrimitives.ReadInt32LittleEndian(e.AsSpan(i * 4));
        Assert.Equal(20261128, H(0));
        int B = H(2), T = H(3), V = H(4), Vp = H(5), n = H(6);
        Assert.Equal(weights.Count, n);
        Assert.Equal(V, weights.Config.VocabSize);
        int o = 1024;
        int[] ReadInts(int count) { var a = new int[count]; for (int i = 0; i < count; i++) { a[i] = BinaryPrimitives.ReadInt32LittleEndian(e.AsSpan(o)); o += 4; } return a; }
        float[] ReadFloats(int count) { var a = new float[count]; for (int i = 0; i < count; i++) { a[i] = BinaryPrimitives.ReadSingleLittleEndian(e.AsSpan(o)); o += 4; } return a; }
        int[] inp = ReadInts(B * T), tgt = ReadInts(B * T);
        float loss = ReadFloats(1)[0];
        float[] logits = ReadFloats(B * T * Vp), grads = ReadFloats(n);
        Assert.Equal(e.Length, o);

        var opt = new TrainerOptions { Model = weights.Config, BatchSize = B, SeqLen = T, HierarchyDepth = 1 };
        using var tr = new Trainer(opt, new SequentialExecutor(1), weights);
        double ours = tr.ComputeGradients(inp, tgt);
        Assert.True(Math.Abs(ours - loss) / loss < 1e-5, $"loss {ours} vs torch {loss}");
        var ourLogits = new float[B * T * Vp];
        double[] Widen(float[] a) => Array.ConvertAll(a, x => (double)x);
        // The backward overwrites the logits with dlogits, so read them from a forward-only pass.
        tr.Evaluate(inp, tgt);
        tr.CopyLogits(ourLogits);
        Assert.True(TrainingTestUtil.RelativeError(ourLogits, Widen(logits)) < 1e-5);
        tr.ComputeGradients(inp, tgt);
        var lay = weights.Layout;
        double[] g = Widen(grads);
        foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>())
        {
            double rel = TrainingTestUtil.RelativeError(tr.Gradient.Slice(lay.Offset(t), lay.Size(t)), g.AsSpan(lay.Offset(t), lay.Size(t)));
            Assert.True(rel < 1e-5, $"{ParameterLayout.Name(t)}: relative error {rel:E2} against PyTorch");
        }
    }
}
