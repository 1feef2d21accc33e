using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class LayerNormTests
{
    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Forward_and_backward_match_scalar_reference_over_awkward_channel_counts(VectorWidth width)
    {
        foreach (int c in AwkwardSizes)
        {
            const int R = 3;
            float[] x = Random(R * c, c, scale: 2f, offset: 5f); // an offset tests the two-pass variance
            float[] w = Random(c, c + 1, scale: 1f, offset: 1f), b = Random(c, c + 2);
            float[] outE = new float[R * c], outA = new float[R * c];
            float[] meanE = new float[R], meanA = new float[R], rstdE = new float[R], rstdA = new float[R];
            LayerNorm.Forward(outE, meanE, rstdE, x, w, b, R, c, VectorWidth.Scalar);
            LayerNorm.Forward(outA, meanA, rstdA, x, w, b, R, c, width);
            AssertClose(outE, outA, 2e-6, 2e-6, what: $"out C={c}");
            AssertClose(meanE, meanA, 1e-7, what: "mean");
            AssertClose(rstdE, rstdA, 1e-7, what: "rstd");

            float[] dout = Random(R * c, c + 3);
            float[] dxE = Random(R * c, 1), dxA = (float[])dxE.Clone();
            float[] dwE = Random(c, 2), dwA = (float[])dwE.Clone();
            float[] dbE = Random(c, 3), dbA = (float[])dbE.Clone();
            LayerNorm.Backward(dxE, dwE, dbE, dout, x, w, meanE, rstdE, R, c, VectorWidth.Scalar);
            LayerNorm.Backward(dxA, dwA, dbA, dout, x, w, meanE, rstdE, R, c, width);
            double scale = MaxAbs(dxE);
            AssertClose(dxE, dxA, 1e-5, 1e-5 * scale, what: $"dx C={c}");
            AssertClose(dwE, dwA, 1e-5, 1e-6, what: "dw");
            AssertClose(dbE, dbA, 1e-6, 1e-6, what: "db");
        }
    }

    [Fact]
    public void Forward_normalises_to_zero_mean_unit_variance()
    {
        const int C = 769;
        float[] x = Random(C, 4, scale: 3f, offset: 100f);
        float[] w = Enumerable.Repeat(1f, C).ToArray(), b = new float[C];
        var y = new float[C];
        var mean = new float[1];
        var rstd = new float[1];
        LayerNorm.Forward(y, mean, rstd, x, w, b, 1, C);
        double m = y.Average(v => (double)v);
        double var = y.Average(v => (v - m) * (v - m));
        Assert.True(Math.Abs(m) < 1e-4, $"mean {m}");
        Assert.True(Math.Abs(var - 1) < 1e-3, $"variance {var}");
        Assert.Equal(x.Average(v => (double)v), mean[0], 1e-4);
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Backward_matches_central_differences(VectorWidth width)
    {
        const int R = 2, C = 17;
        float[] x = Random(R * C, 10, scale: 1.5f), w = Random(C, 11, offset: 1f), b = Random(C, 12), r = Random(R * C, 13);
        var y = new float[R * C];
        var mean = new float[R];
        var rstd = new float[R];
        double Loss() { LayerNorm.Forward(y, mean, rstd, x, w, b, R, C, VectorWidth.Scalar); return Dot(y, r); }
        Loss();
        float[] dx = new float[R * C], dw = new float[C], db = new float[C];
        LayerNorm.Backward(dx, dw, db, r, x, w, mean, rstd, R, C, width);
        CheckGradient("dinput", x, dx, Loss, 1e-2f, 2e-2, 2e-3);
        CheckGradient("dweight", w, dw, Loss, 1e-2f, 2e-2, 2e-3);
        CheckGradient("dbias", b, db, Loss, 1e-2f, 2e-2, 2e-3);
    }

    [Fact]
    public void Bad_shapes_are_rejected_before_any_write()
    {
        const int R = 2, C = 5;
        float[] x = Random(R * C, 1), w = Random(C, 2), b = Random(C, 3);
        float[] y = new float[R * C], mean = new float[R], rstd = new float[R];
        AssertRejected(() => LayerNorm.Forward(y, mean, rstd, x, w, b, R, C + 1), y, mean, rstd);
        AssertRejected(() => LayerNorm.Forward(y, mean, rstd.AsSpan(0, 1), x, w, b, R, C), y, mean, rstd);
        AssertRejected(() => LayerNorm.Forward(y, mean, rstd, x, w.AsSpan(1), b, R, C), y, mean, rstd);
        AssertRejected(() => LayerNorm.Forward(y, mean, rstd, x, w, b, 0, C), y, mean, rstd);
        float[] dx = new float[R * C], dw = new float[C], db = new float[C];
        AssertRejected(() => LayerNorm.Backward(dx, dw, db.AsSpan(1), x, x, w, mean, rstd, R, C), dx, dw, db);
        AssertRejected(() => LayerNorm.Backward(dx, dw, db, x.AsSpan(1), x, w, mean, rstd, R, C), dx, dw, db);
    }
}
