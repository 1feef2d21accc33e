using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class ResidualTests
{
    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Forward_and_backward_equal_the_scalar_reference_bitwise_for_lengths_0_to_256(VectorWidth width)
    {
        for (int n = 0; n <= 256; n++)
        {
            float[] a = Random(n, n), b = Random(n, n + 1000), d = Random(n, n + 2000);
            var expected = new float[n];
            for (int i = 0; i < n; i++) expected[i] = a[i] + b[i];
            var actual = new float[n + 1];
            actual[n] = 42f;
            Residual.Forward(actual, a, b, width);
            Assert.True(expected.AsSpan().SequenceEqual(actual.AsSpan(0, n)), $"n={n}");
            Assert.Equal(42f, actual[n]);

            float[] da = Random(n, n + 3000), db = Random(n, n + 4000);
            float[] daExpected = da.Select((v, i) => v + d[i]).ToArray();
            float[] dbExpected = db.Select((v, i) => v + d[i]).ToArray();
            Residual.Backward(da, db, d, width);
            Assert.Equal(daExpected, da);
            Assert.Equal(dbExpected, db);
        }
    }

    [Fact]
    public void Backward_matches_central_differences()
    {
        float[] a = Random(17, 1), b = Random(17, 2), r = Random(17, 3);
        var outBuf = new float[17];
        double Loss() { Residual.Forward(outBuf, a, b, VectorWidth.Scalar); return Dot(outBuf, r); }
        var da = new float[17];
        var db = new float[17];
        Residual.Backward(da, db, r);
        CheckGradient("da", a, da, Loss, 1e-2f, 1e-3, 1e-5);
        CheckGradient("db", b, db, Loss, 1e-2f, 1e-3, 1e-5);
    }

    [Fact]
    public void Bad_shapes_are_rejected_before_any_write()
    {
        float[] a = Random(8, 1);
        var o = new float[8];
        AssertRejected(() => Residual.Forward(o, a, new float[7]), o);
        var shortOut = new float[7];
        AssertRejected(() => Residual.Forward(shortOut, a, a), shortOut);
        var da = new float[8];
        var shortDb = new float[7];
        AssertRejected(() => Residual.Backward(da, shortDb, a), da, shortDb);
        var same = new float[8];
        AssertRejected(() => Residual.Backward(same, same, a), same);
    }
}
