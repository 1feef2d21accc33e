using System.Runtime.Intrinsics;
using Crystalline.Hpc.Kernels;
using Xunit;

namespace Crystalline.Hpc.Tests.Kernels;

public class VectorExpTests
{
    private static float Exp512Lane(float x) => VectorExp.Exp(Vector512.Create(x)).GetElement(0);

    [Fact]
    public void Relative_error_is_within_documented_bound_over_the_normal_range()
    {
        double worst = 0;
        float worstX = 0;
        const int N = 400_000;
        for (int i = 0; i <= N; i += 16)
        {
            var v = new float[16];
            for (int j = 0; j < 16; j++) v[j] = -87.3f + (88.7f + 87.3f) * (i + j) / N;
            Vector512<float> r = VectorExp.Exp(Vector512.Create(v));
            Vector256<float> r256 = VectorExp.Exp(Vector256.Create(v.AsSpan(0, 8)));
            Vector128<float> r128 = VectorExp.Exp(Vector128.Create(v.AsSpan(8, 4)));
            for (int j = 0; j < 16; j++)
            {
                double exact = Math.Exp(v[j]);
                double err = Math.Abs(r.GetElement(j) - exact) / exact;
                if (err > worst) { worst = err; worstX = v[j]; }
                if (j < 8) Assert.Equal(r.GetElement(j), r256.GetElement(j));
                if (j is >= 8 and < 12) Assert.Equal(r.GetElement(j), r128.GetElement(j - 8));
            }
        }
        Assert.True(worst <= 1.2e-7, $"max relative error {worst:E3} at x = {worstX}");
    }

    [Fact]
    public void Special_values()
    {
        Assert.Equal(0f, Exp512Lane(float.NegativeInfinity));
        Assert.Equal(0f, Exp512Lane(-104f));
        Assert.Equal(0f, Exp512Lane(-1e4f));
        Assert.Equal(float.PositiveInfinity, Exp512Lane(float.PositiveInfinity));
        Assert.Equal(float.PositiveInfinity, Exp512Lane(88.8f));
        Assert.True(float.IsNaN(Exp512Lane(float.NaN)));
        Assert.Equal(1f, Exp512Lane(0f));
        // Gradual underflow: e^−100 ≈ 3.7e−44 is a subnormal float.
        Assert.InRange(Exp512Lane(-100f), 3.5e-44f, 3.9e-44f);
        Assert.InRange(Exp512Lane(88.7f), 3.3e38f, float.MaxValue);
    }
}
