using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class AttentionTests
{
    /// <summary>An independent, obviously causal reference in double (index by index from the definition).</summary>
    private static double[] NaiveForward(float[] qkv, int B, int T, int C, int NH)
    {
        int hs = C / NH;
        var output = new double[B * T * C];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < T; t++)
                {
                    var scores = new double[t + 1];
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        double s = 0;
                        for (int i = 0; i < hs; i++)
                            s += (double)qkv[(b * T + t) * 3 * C + h * hs + i] * qkv[(b * T + t2) * 3 * C + C + h * hs + i];
                        scores[t2] = s / Math.Sqrt(hs);
                    }
                    double max = scores.Max();
                    double z = scores.Sum(s => Math.Exp(s - max));
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        double p = Math.Exp(scores[t2] - max) / z;
                        for (int i = 0; i < hs; i++)
                            output[(b * T + t) * C + h * hs + i] += p * qkv[(b * T + t2) * 3 * C + 2 * C + h * hs + i];
                    }
                }
        return output;
    }

    private static (float[] Out, float[] Pre, float[] Att) Run(float[] qkv, int B, int T, int C, int NH, VectorWidth width)
    {
        var o = new float[B * T * C];
        var pre = new float[B * NH * T * T];
        var att = new float[B * NH * T * T];
        Attention.Forward(o, pre, att, qkv, B, T, C, NH, width);
        return (o, pre, att);
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Forward_matches_an_independent_double_reference_and_is_causal(VectorWidth width)
    {
        const int B = 2, T = 7, C = 12, NH = 3;
        float[] qkv = Random(B * T * 3 * C, 1, scale: 2f);
        var (o, pre, att) = Run(qkv, B, T, C, NH, width);
        double[] expected = NaiveForward(qkv, B, T, C, NH);
        for (int i = 0; i < o.Length; i++)
            Assert.True(Math.Abs(o[i] - expected[i]) <= 2e-6 * (1 + Math.Abs(expected[i])), $"out[{i}]: {expected[i]} vs {o[i]}");
        for (int bh = 0; bh < B * NH; bh++)
            for (int t = 0; t < T; t++)
            {
                double rowSum = 0;
                for (int t2 = 0; t2 < T; t2++)
                {
                    float a = att[(bh * T + t) * T + t2];
                    if (t2 > t) { Assert.Equal(0f, a); Assert.Equal(0f, pre[(bh * T + t) * T + t2]); }
                    rowSum += a;
                }
                Assert.Equal(1.0, rowSum, 1e-6);
            }

        // Changing a future token's k and v must not change earlier outputs.
        float[] changed = (float[])qkv.Clone();
        for (int i = C; i < 3 * C; i++) changed[(T - 1) * 3 * C + i] += 5f;
        var (o2, _, _) = Run(changed, B, T, C, NH, width);
        Assert.True(o.AsSpan(0, (T - 1) * C).SequenceEqual(o2.AsSpan(0, (T - 1) * C)));
    }

    public static IEnumerable<object[]> WidthsAndShapes()
    {
        foreach (VectorWidth w in KernelDispatch.Supported)
        {
            foreach (int hs in AwkwardSizes)
                yield return [w, hs < 700 ? 17 : 3, hs];
            yield return [w, 65, 17];
            yield return [w, 1, 63];  // a single token: one key, no query block
            yield return [w, 4, 64];  // exactly one four-query block, GPT-2's head size
        }
    }

    [Theory]
    [MemberData(nameof(WidthsAndShapes))]
    public void Forward_and_backward_match_scalar_reference_over_awkward_shapes(VectorWidth width, int T, int hs)
    {
        const int B = 1, NH = 2;
        int C = NH * hs;
        float[] qkv = Random(B * T * 3 * C, T + hs, scale: 1.5f);
        var (oE, preE, attE) = Run(qkv, B, T, C, NH, VectorWidth.Scalar);
        var (oA, preA, attA) = Run(qkv, B, T, C, NH, width);
        AssertClose(preE, preA, 1e-5, 1e-5 * MaxAbs(preE), what: "preatt");
        AssertClose(attE, attA, 1e-5, 1e-7, what: "att");
        AssertClose(oE, oA, 1e-5, 1e-5 * MaxAbs(oE), what: "out");

        float[] dout = Random(oE.Length, 99);
        float[] dqkvE = Random(qkv.Length, 98), dqkvA = (float[])dqkvE.Clone();
        var dpreE = new float[attE.Length];
        var dattE = new float[attE.Length];
        var dpreA = new float[attE.Length];
        var dattA = new float[attE.Length];
        Attention.Backward(dqkvE, dpreE, dattE, dout, qkv, attE, B, T, C, NH, VectorWidth.Scalar);
        Attention.Backward(dqkvA, dpreA, dattA, dout, qkv, attE, B, T, C, NH, width);
        AssertClose(dqkvE, dqkvA, 2e-5, 2e-5 * MaxAbs(dqkvE), what: "dqkv");
        AssertClose(dattE, dattA, 2e-5, 2e-5 * MaxAbs(dattE), what: "datt");
        AssertClose(dpreE, dpreA, 2e-5, 2e-5 * MaxAbs(dpreE), what: "dpreatt");
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Backward_matches_central_differences(VectorWidth width)
    {
        const int B = 2, T = 5, C = 8, NH = 2;
        float[] qkv = Random(B * T * 3 * C, 21);
        float[] r = Random(B * T * C, 22);
        var o = new float[B * T * C];
        var pre = new float[B * NH * T * T];
        var att = new float[B * NH * T * T];
        double Loss() { Attention.Forward(o, pre, att, qkv, B, T, C, NH, VectorWidth.Scalar); return Dot(o, r); }
        Loss();
        var dqkv = new float[qkv.Length];
        Attention.Backward(dqkv, new float[att.Length], new float[att.Length], r, qkv, att, B, T, C, NH, width);
        CheckGradient("dqkv", qkv, dqkv, Loss, 1e-2f, 2e-2, 2e-3);
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Large_scores_stay_finite(VectorWidth width)
    {
        const int B = 1, T = 9, C = 4, NH = 1;
        float[] qkv = Random(B * T * 3 * C, 5, scale: 300f); // scores ~ ±1e5
        var (o, _, att) = Run(qkv, B, T, C, NH, width);
        Assert.All(o, v => Assert.True(float.IsFinite(v)));
        Assert.All(att, v => Assert.True(float.IsFinite(v) && v >= 0 && v <= 1));
    }

    [Fact]
    public void Bad_shapes_are_rejected_before_any_write()
    {
        const int B = 1, T = 3, C = 4, NH = 2;
        float[] qkv = Random(B * T * 3 * C, 1);
        float[] o = new float[B * T * C], pre = new float[B * NH * T * T], att = new float[B * NH * T * T];
        AssertRejected(() => Attention.Forward(o, pre, att, qkv, B, T, C, 3), o, pre, att);
        AssertRejected(() => Attention.Forward(o, pre, att, qkv.AsSpan(1), B, T, C, NH), o, pre, att);
        AssertRejected(() => Attention.Forward(o, pre.AsSpan(1), att, qkv, B, T, C, NH), o, pre, att);
        AssertRejected(() => Attention.Forward(o, pre, att, qkv, B, 0, C, NH), o, pre, att);
        float[] dqkv = new float[qkv.Length];
        AssertRejected(() => Attention.Backward(dqkv, pre, att, o, qkv, att.AsSpan(1), B, T, C, NH), dqkv, pre, att);
        AssertRejected(() => Attention.Backward(dqkv.AsSpan(1), pre, att, o, qkv, att, B, T, C, NH), dqkv, pre, att);
    }
}
