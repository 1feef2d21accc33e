using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class VectorMathTests
{
    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void SumOfSquares_matches_a_double_reference_for_lengths_0_to_256_and_awkward_sizes(VectorWidth width)
    {
        foreach (int n in Enumerable.Range(0, 257).Concat(AwkwardSizes).Append(100_003))
        {
            float[] x = Random(n, n, scale: 3f);
            double expected = 0;
            foreach (float v in x) expected += (double)v * v;
            double actual = VectorMath.SumOfSquares(x, width);
            Assert.True(Math.Abs(actual - expected) <= 1e-13 * expected, $"n={n}: {expected:R} vs {actual:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void SumOfSquares_keeps_double_accuracy_where_float_accumulation_would_not(VectorWidth width)
    {
        // 2²⁴ + 1 ones: a float accumulator stalls at 2²⁴; a double one is exact.
        var x = new float[(1 << 24) + 1];
        x.AsSpan().Fill(1f);
        Assert.Equal((1 << 24) + 1.0, VectorMath.SumOfSquares(x, width));
        Assert.True(double.IsNaN(VectorMath.SumOfSquares([1f, float.NaN, 2f], width)));
        Assert.Equal(double.PositiveInfinity, VectorMath.SumOfSquares([1f, float.NegativeInfinity], width));
    }

    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Scale_Add_AddTo_are_bitwise_equal_to_scalar_for_lengths_0_to_256(VectorWidth width)
    {
        for (int n = 0; n <= 256; n++)
        {
            float[] x = Random(n, n), y = Random(n, n + 1);
            float[] scaled = (float[])x.Clone();
            VectorMath.Scale(scaled, 0.37f, width);
            Assert.Equal(x.Select(v => v * 0.37f).ToArray(), scaled);

            var scaledOut = new float[n + 2];
            VectorMath.Scale(scaledOut, x, -1.5f, width);
            Assert.Equal(x.Select(v => v * -1.5f).Concat([0f, 0f]).ToArray(), scaledOut);

            var sum = new float[n];
            VectorMath.Add(sum, x, y, width);
            Assert.Equal(x.Select((v, i) => v + y[i]).ToArray(), sum);

            float[] acc = (float[])x.Clone();
            VectorMath.AddTo(acc, y, width);
            Assert.Equal(x.Select((v, i) => v + y[i]).ToArray(), acc);
        }
    }

    [Fact]
    public void Bad_shapes_are_rejected_before_any_write()
    {
        float[] x = Random(9, 1);
        var shortDst = new float[8];
        AssertRejected(() => VectorMath.AddTo(shortDst, x), shortDst);
        AssertRejected(() => VectorMath.Scale(shortDst, x, 2f), shortDst);
        var dst = new float[9];
        AssertRejected(() => VectorMath.Add(dst, x, new float[8]), dst);
        var buffer = new float[12];
        AssertRejected(() => VectorMath.AddTo(buffer.AsSpan(0, 9), buffer.AsSpan(2, 9)), buffer);
    }
}
