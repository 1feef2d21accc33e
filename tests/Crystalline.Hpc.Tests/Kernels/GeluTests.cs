using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class GeluTests
{
    // ½x(1 + tanh u) = x/(1 + e^(−2u)): the same function, written so that not even double cancels in the left tail.
    private static double GeluDouble(double x) =>
        x / (1 + Math.Exp(-2 * Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Forward_matches_scalar_reference_for_lengths_0_to_256(VectorWidth width)
    {
        for (int n = 0; n <= 256; n++)
        {
            float[] x = Random(n, n, scale: 6f);
            var expected = new float[n];
            var actual = new float[n + 3];
            Gelu.Forward(expected, x, VectorWidth.Scalar);
            Gelu.Forward(actual, x, width);
            // The reference's 1 + tanh(u) cancels for x ≪ 0: its error is a few ulp of |x|, not of the result.
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-6 * Math.Abs(expected[i]) + 3e-7 * Math.Abs(x[i]),
                    $"n={n} x={x[i]}: {expected[i]} vs {actual[i]}");
            Assert.Equal(new float[3], actual[n..]);
        }
    }

    [Fact]
    public void Scalar_reference_matches_the_formula_in_double()
    {
        float[] x = Random(1000, 7, scale: 8f);
        var y = new float[x.Length];
        Gelu.Forward(y, x, VectorWidth.Scalar);
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(y[i] - GeluDouble(x[i])) <= 1e-6 * Math.Max(1, Math.Abs(x[i])), $"x = {x[i]}");
    }

    [Theory]
    [MemberData(nameof(VectorWidths), MemberType = typeof(TransformerKernelTestData))]
    public void Vector_forward_is_accurate_relative_to_the_result_in_double(VectorWidth width)
    {
        float[] x = Random(4096, 3, scale: 10f);
        var y = new float[x.Length];
        Gelu.Forward(y, x, width);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = GeluDouble(x[i]);
            // e^(−2u) inherits the float rounding of its argument: relative error grows like |2u|·ulp; below
            // ~1e−33 the e^80 cap decides (documented).
            double twoU = Math.Abs(2 * Math.Sqrt(2 / Math.PI) * (x[i] + 0.044715 * x[i] * x[i] * x[i]));
            Assert.True(Math.Abs(y[i] - exact) <= (1e-6 + 3e-7 * twoU) * Math.Abs(exact) + 1e-32, $"x = {x[i]}: {y[i]} vs {exact}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Backward_matches_scalar_reference_and_accumulates(VectorWidth width)
    {
        foreach (int n in AwkwardSizes.Concat(Enumerable.Range(0, 40)))
        {
            float[] x = Random(n, n + 1, scale: 6f);
            float[] dout = Random(n, n + 2);
            float[] start = Random(n, n + 3);
            float[] expected = (float[])start.Clone();
            float[] actual = (float[])start.Clone();
            Gelu.Backward(expected, x, dout, VectorWidth.Scalar);
            Gelu.Backward(actual, x, dout, width);
            AssertClose(expected, actual, 2e-6, 1e-6, what: $"n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Backward_matches_central_differences_in_double(VectorWidth width)
    {
        float[] x = Random(769, 11, scale: 5f);
        float[] ones = Enumerable.Repeat(1f, x.Length).ToArray();
        var grad = new float[x.Length];
        Gelu.Backward(grad, x, ones, width);
        for (int i = 0; i < x.Length; i++)
        {
            const double h = 1e-5;
            double numeric = (GeluDouble(x[i] + h) - GeluDouble(x[i] - h)) / (2 * h);
            Assert.True(Math.Abs(numeric - grad[i]) <= 2e-6 * Math.Max(1, Math.Abs(numeric)), $"x = {x[i]}: {numeric} vs {grad[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Extreme_and_special_inputs(VectorWidth width)
    {
        float[] x = [-1e4f, -50f, -10f, 0f, 10f, 50f, 1e4f, float.NaN, -0f];
        var y = new float[x.Length];
        Gelu.Forward(y, x, width);
        Assert.True(Math.Abs(y[0]) < 1e-30 && Math.Abs(y[1]) < 1e-30 && Math.Abs(y[2]) < 1e-20);
        Assert.Equal(0f, y[3]);
        Assert.Equal(10f, y[4], 5e-6f);
        Assert.Equal(50f, y[5]);
        Assert.Equal(1e4f, y[6]);
        Assert.True(float.IsNaN(y[7]));
        var g = new float[x.Length];
        Gelu.Backward(g, x, Enumerable.Repeat(1f, x.Length).ToArray(), width);
        for (int i = 0; i < 7; i++) Assert.True(float.IsFinite(g[i]), $"gelu'({x[i]}) = {g[i]}");
        Assert.Equal(0.5f, g[3]);
        Assert.Equal(1f, g[6]);
        Assert.True(float.IsNaN(g[7]));
    }

    [Fact]
    public void Bad_shapes_are_rejected_before_any_write()
    {
        float[] x = Random(10, 1);
        var shortOut = new float[9];
        AssertRejected(() => Gelu.Forward(shortOut, x), shortOut);
        var dinput = new float[10];
        AssertRejected(() => Gelu.Backward(dinput, x, new float[9]), dinput);
        var shortDin = new float[9];
        AssertRejected(() => Gelu.Backward(shortDin, x, new float[10]), shortDin);
        var buffer = new float[11];
        AssertRejected(() => Gelu.Forward(buffer.AsSpan(1, 10), buffer.AsSpan(0, 10)), buffer);
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Forward_in_place_is_allowed(VectorWidth width)
    {
        float[] x = Random(100, 5, scale: 4f);
        var expected = new float[100];
        Gelu.Forward(expected, x, width);
        Gelu.Forward(x, x, width);
        Assert.Equal(expected, x);
    }
}
