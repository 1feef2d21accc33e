using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class SoftmaxCrossEntropyTests
{
    public static IEnumerable<object[]> WidthsAndVocabularies()
    {
        foreach (VectorWidth w in KernelDispatch.Supported)
        {
            foreach (int v in AwkwardSizes) yield return [w, v, v + (v % 5)];
            yield return [w, 50257, 50304];
        }
    }

    [Theory]
    [MemberData(nameof(WidthsAndVocabularies))]
    public void Forward_and_backward_match_scalar_reference(VectorWidth width, int V, int Vp)
    {
        const int R = 3;
        float[] logits = Random(R * Vp, V, scale: 8f);
        int[] targets = RandomInts(R, V + 1, V);
        float[] lossE = new float[R], lossA = new float[R];
        float[] probsE = new float[R * Vp], probsA = Enumerable.Repeat(7f, R * Vp).ToArray();
        SoftmaxCrossEntropy.Forward(lossE, probsE, logits, targets, R, V, Vp, VectorWidth.Scalar);
        SoftmaxCrossEntropy.Forward(lossA, probsA, logits, targets, R, V, Vp, width);
        AssertClose(lossE, lossA, 1e-6, 1e-6, what: "loss");
        AssertClose(probsE, probsA, 2e-6, 1e-12, what: "probs");
        for (int r = 0; r < R; r++)
        {
            double sum = 0;
            for (int i = 0; i < V; i++) sum += probsA[r * Vp + i];
            Assert.Equal(1.0, sum, 1e-5);
            for (int i = V; i < Vp; i++) Assert.Equal(0f, probsA[r * Vp + i]);
            Assert.Equal(-Math.Log(probsE[r * Vp + targets[r]]), lossE[r], 1e-4);
        }

        float[] dE = new float[R * Vp], dA = Enumerable.Repeat(3f, R * Vp).ToArray();
        SoftmaxCrossEntropy.Backward(dE, probsE, targets, 0.25f, R, V, Vp, VectorWidth.Scalar);
        SoftmaxCrossEntropy.Backward(dA, probsE, targets, 0.25f, R, V, Vp, width);
        Assert.Equal(dE, dA);
        for (int r = 0; r < R; r++)
            for (int i = 0; i < Vp; i++)
            {
                float expected = i >= V ? 0f : (probsE[r * Vp + i] - (i == targets[r] ? 1f : 0f)) * 0.25f;
                Assert.Equal(expected, dE[r * Vp + i]);
            }
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Backward_matches_central_differences_of_the_mean_loss(VectorWidth width)
    {
        const int R = 3, V = 19, Vp = 24;
        float[] logits = Random(R * Vp, 5, scale: 3f);
        int[] targets = [0, 18, 7];
        var losses = new float[R];
        var probs = new float[R * Vp];
        double Loss() { SoftmaxCrossEntropy.Forward(losses, probs, logits, targets, R, V, Vp, VectorWidth.Scalar); return losses.Sum(v => (double)v) / R; }
        Loss();
        var dlogits = new float[R * Vp];
        SoftmaxCrossEntropy.Backward(dlogits, probs, targets, 1f / R, R, V, Vp, width);
        CheckGradient("dlogits", logits, dlogits, Loss, 1e-2f, 1e-2, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Huge_logits_give_no_NaN_or_infinity(VectorWidth width)
    {
        const int R = 2, V = 67, Vp = 67;
        float[] logits = new float[R * Vp];
        for (int i = 0; i < logits.Length; i++) logits[i] = i % 3 == 0 ? 1e4f : -1e4f;
        int[] targets = [0, 1]; // row 0: a winning column; row 1: a losing one (its prob underflows to 0)
        var losses = new float[R];
        var probs = new float[R * Vp];
        SoftmaxCrossEntropy.Forward(losses, probs, logits, targets, R, V, Vp, width);
        Assert.All(probs, p => Assert.True(float.IsFinite(p) && p >= 0 && p <= 1));
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        int winners0 = Enumerable.Range(0, V).Count(i => i % 3 == 0);
        int winners1 = Enumerable.Range(Vp, V).Count(i => i % 3 == 0);
        Assert.Equal(Math.Log(winners0), losses[0], 1e-5);
        Assert.Equal(2e4 + Math.Log(winners1), losses[1], 2e-3);
        var d = new float[R * Vp];
        SoftmaxCrossEntropy.Backward(d, probs, targets, 1f, R, V, Vp, width);
        Assert.All(d, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Bad_shapes_and_targets_are_rejected_before_any_write()
    {
        const int R = 2, V = 5, Vp = 8;
        float[] logits = Random(R * Vp, 1);
        float[] losses = new float[R], probs = new float[R * Vp];
        AssertRejected(() => SoftmaxCrossEntropy.Forward(losses, probs, logits, [0, 5], R, V, Vp), losses, probs);
        AssertRejected(() => SoftmaxCrossEntropy.Forward(losses, probs, logits, [0, 1], R, V, 4), losses, probs);
        AssertRejected(() => SoftmaxCrossEntropy.Forward(losses, probs, logits.AsSpan(1), [0, 1], R, V, Vp), losses, probs);
        AssertRejected(() => SoftmaxCrossEntropy.Forward(losses.AsSpan(1), probs, logits, [0, 1], R, V, Vp), losses, probs);
        var d = new float[R * Vp];
        AssertRejected(() => SoftmaxCrossEntropy.Backward(d, probs.AsSpan(1), [0, 1], 1f, R, V, Vp), d);
        AssertRejected(() => SoftmaxCrossEntropy.Backward(d, probs, [0, -1], 1f, R, V, Vp), d);
    }
}
