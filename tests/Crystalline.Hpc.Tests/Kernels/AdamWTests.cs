using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class AdamWTests
{
    /// <summary>AdamW written out from its definition, one element at a time.</summary>
    private static void HandWritten(float[] p, float[] g, float[] m, float[] v, float lr, float b1, float b2, float eps, float wd, int t, float scale)
    {
        float c1 = (float)(1.0 - Math.Pow(b1, t));
        float c2 = (float)(1.0 - Math.Pow(b2, t));
        for (int i = 0; i < p.Length; i++)
        {
            float grad = g[i] * scale;
            m[i] = b1 * m[i] + (1f - b1) * grad;
            v[i] = b2 * v[i] + (1f - b2) * (grad * grad);
            float mHat = m[i] / c1;
            float vHat = v[i] / c2;
            p[i] -= lr * (mHat / (MathF.Sqrt(vHat) + eps) + wd * p[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Equals_the_hand_written_reference_exactly_over_several_steps(VectorWidth width)
    {
        // 4099: the AVX-512 loop runs long past its prefetch distance before handing the last lines to the plain loop.
        foreach (int n in AwkwardSizes.Concat(Enumerable.Range(0, 40)).Append(4099))
        {
            var s = new AdamWSettings(learningRate: 1e-3f, beta1: 0.9f, beta2: 0.95f, epsilon: 1e-8f, weightDecay: 0.1f);
            float[] p = Random(n, n), m = new float[n], v = new float[n];
            float[] pE = (float[])p.Clone(), mE = new float[n], vE = new float[n];
            for (int step = 1; step <= 4; step++)
            {
                float[] g = Random(n, 100 * step + n);
                float scale = step == 3 ? 0.5f * (1f - 3f / 144000f) : 1f - 3f / 144000f;
                AdamW.Update(p, g, m, v, s, step, scale, width);
                HandWritten(pE, g, mE, vE, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, step, scale);
            }
            Assert.Equal(pE, p);
            Assert.Equal(mE, m);
            Assert.Equal(vE, v);
        }
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Gradient_scale_of_one_is_plain_AdamW_and_a_scale_equals_prescaled_gradients(VectorWidth width)
    {
        const int n = 769;
        var s = new AdamWSettings(3e-4f);
        float[] g = Random(n, 1);
        float[] p1 = Random(n, 2), p2 = (float[])p1.Clone(), p3 = (float[])p1.Clone();
        float[] m1 = new float[n], v1 = new float[n], m2 = new float[n], v2 = new float[n], m3 = new float[n], v3 = new float[n];
        AdamW.Update(p1, g, m1, v1, s, 1, 1f, width);
        HandWritten(p2, g, m2, v2, 3e-4f, 0.9f, 0.999f, 1e-8f, 0f, 1, 1f);
        Assert.Equal(p2, p1);
        Assert.Equal(m2, m1);

        float[] gScaled = g.Select(x => x * 0.25f).ToArray();
        float[] p4 = (float[])p3.Clone();
        float[] m4 = new float[n], v4 = new float[n];
        AdamW.Update(p3, g, m3, v3, s, 1, 0.25f, width);
        AdamW.Update(p4, gScaled, m4, v4, s, 1, 1f, width);
        Assert.Equal(p4, p3);
        Assert.Equal(m4, m3);
        Assert.Equal(v4, v3);
    }

    [Fact]
    public void First_step_moves_each_parameter_by_about_the_learning_rate()
    {
        // Bias correction makes step 1's update lr·g/|g| for every non-zero gradient.
        float[] p = new float[5], g = [1f, -2f, 1e-3f, 50f, -0.1f], m = new float[5], v = new float[5];
        AdamW.Update(p, g, m, v, new AdamWSettings(0.01f), 1, 1f);
        for (int i = 0; i < 5; i++) Assert.Equal(-0.01f * MathF.Sign(g[i]), p[i], 1e-6f);
    }

    [Fact]
    public void Bad_arguments_are_rejected_before_any_write()
    {
        float[] p = Random(9, 1), g = Random(9, 2), m = new float[9], v = new float[9];
        var s = new AdamWSettings(1e-3f);
        AssertRejected(() => AdamW.Update(p, g.AsSpan(1), m, v, s, 1, 1f), p, m, v);
        AssertRejected(() => AdamW.Update(p, g, m.AsSpan(1), v, s, 1, 1f), p, m, v);
        AssertRejected(() => AdamW.Update(p, g, m, v, s, 0, 1f), p, m, v);
        AssertRejected(() => AdamW.Update(p, g, m, v, s, 1, float.NaN), p, m, v);
        AssertRejected(() => AdamW.Update(p, g, m, v, s with { Beta2 = 1f }, 1, 1f), p, m, v);
        AssertRejected(() => AdamW.Update(p, g, m, v, s with { LearningRate = -1f }, 1, 1f), p, m, v);
    }
}
