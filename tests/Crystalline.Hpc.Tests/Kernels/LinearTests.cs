using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.GemmTestSupport;

namespace Crystalline.Hpc.Tests.Kernels;

public class LinearTests
{
    public static TheoryData<VectorWidth> Widths() => SgemmTests.Widths();

    [Theory]
    [MemberData(nameof(Widths))]
    public void Forward_matches_double_reference(VectorWidth w)
    {
        foreach (var (r, c, oc, withBias) in new[] { (1, 1, 1, true), (3, 17, 65, true), (17, 63, 3, false), (65, 769, 767, true) })
        {
            var input = Random(r * c, 1);
            var weight = Random(oc * c, 2);
            var bias = withBias ? Random(oc, 3) : [];
            var output = Random(r * oc, 4); // overwritten
            Linear.Forward(output, input, weight, bias, r, c, oc, w);
            for (int i = 0; i < r; i++)
                for (int o = 0; o < oc; o++)
                {
                    double s = withBias ? bias[o] : 0, mag = Math.Abs(s);
                    for (int k = 0; k < c; k++) { s += (double)input[i * c + k] * weight[o * c + k]; mag += Math.Abs((double)input[i * c + k] * weight[o * c + k]); }
                    Assert.True(Math.Abs(output[i * oc + o] - s) <= 1e-5 * mag + 1e-30, $"{w} r={r} c={c} oc={oc} [{i},{o}] {output[i * oc + o]} vs {s}");
                }
        }
    }

    /// <summary>L = Σ G ⊙ Linear(x; W, b), in double. Its gradients are what Backward must accumulate.</summary>
    private static double Loss(double[] x, double[] wt, double[] bias, double[] g, int r, int c, int oc)
    {
        double loss = 0;
        for (int i = 0; i < r; i++)
            for (int o = 0; o < oc; o++)
            {
                double s = bias[o];
                for (int k = 0; k < c; k++) s += x[i * c + k] * wt[o * c + k];
                loss += g[i * oc + o] * s;
            }
        return loss;
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Backward_matches_finite_differences_and_accumulates(VectorWidth w)
    {
        const int r = 5, c = 19, oc = 67;
        var input = Random(r * c, 1);
        var weight = Random(oc * c, 2);
        var bias = Random(oc, 3);
        var dout = Random(r * oc, 4);
        // Gradients start non-zero: Backward must add to them.
        var dinput0 = Random(r * c, 5);
        var dweight0 = Random(oc * c, 6);
        var dbias0 = Random(oc, 7);
        var dinput = (float[])dinput0.Clone();
        var dweight = (float[])dweight0.Clone();
        var dbias = (float[])dbias0.Clone();
        Linear.Backward(dinput, dweight, dbias, dout, input, weight, r, c, oc, w);

        double[] x = input.Select(v => (double)v).ToArray(), wt = weight.Select(v => (double)v).ToArray(),
            bb = bias.Select(v => (double)v).ToArray(), g = dout.Select(v => (double)v).ToArray();
        const double h = 1e-3;
        double Fd(double[] p, int idx)
        {
            double keep = p[idx];
            p[idx] = keep + h; double up = Loss(x, wt, bb, g, r, c, oc);
            p[idx] = keep - h; double down = Loss(x, wt, bb, g, r, c, oc);
            p[idx] = keep;
            return (up - down) / (2 * h);
        }
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(dinput[i] - dinput0[i] - Fd(x, i)) < 1e-4, $"dinput[{i}]");
        for (int i = 0; i < wt.Length; i += 7)
            Assert.True(Math.Abs(dweight[i] - dweight0[i] - Fd(wt, i)) < 1e-4, $"dweight[{i}]");
        for (int i = 0; i < bb.Length; i++)
            Assert.True(Math.Abs(dbias[i] - dbias0[i] - Fd(bb, i)) < 1e-4, $"dbias[{i}]");
    }

    [Fact]
    public void Backward_without_bias_leaves_nothing_else_out()
    {
        const int r = 4, c = 8, oc = 5;
        var dinput = new float[r * c];
        var dweight = new float[oc * c];
        Linear.Backward(dinput, dweight, [], Random(r * oc, 1), Random(r * c, 2), Random(oc * c, 3), r, c, oc);
        Assert.Contains(dinput, v => v != 0f);
        Assert.Contains(dweight, v => v != 0f);
    }

    [Fact]
    public void Bad_shapes_throw()
    {
        var x = new float[6]; var wt = new float[12]; var b = new float[4]; var y = new float[8];
        Assert.Throws<ArgumentException>(() => Linear.Forward(y.AsSpan(1), x, wt, b, 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Linear.Forward(y, x.AsSpan(1), wt, b, 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Linear.Forward(y, x, wt.AsSpan(1), b, 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Linear.Forward(y, x, wt, b.AsSpan(1), 2, 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Linear.Forward(y, x, wt, b, -2, 3, 4));
        Assert.Throws<ArgumentException>(() => Linear.Backward(new float[5], new float[12], b, y, x, wt, 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Linear.Backward(new float[6], new float[11], b, y, x, wt, 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Linear.Backward(new float[6], new float[12], new float[3], y, x, wt, 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Linear.Backward(new float[6], new float[12], b, y.AsSpan(1), x, wt, 2, 3, 4));
        Assert.All(y, v => Assert.Equal(0f, v));
    }
}

public class LinearParallelTests
{
    [Fact]
    public void Forward_and_backward_are_bitwise_the_same_on_any_worker_count()
    {
        const int r = 40, c = 96, oc = 300;
        var input = Random(r * c, 1);
        var weight = Random(oc * c, 2);
        var bias = Random(oc, 3);
        var dout = Random(r * oc, 4);
        float[] Run(Crystalline.Hpc.Scheduling.ISphereExecutor? ex, out float[] dinput, out float[] dweight, out float[] dbias)
        {
            var output = new float[r * oc];
            Linear.Forward(output, input, weight, bias, r, c, oc, ex);
            dinput = Random(r * c, 5);
            dweight = Random(oc * c, 6);
            dbias = Random(oc, 7);
            Linear.Backward(dinput, dweight, dbias, dout, input, weight, r, c, oc, ex);
            return output;
        }
        var y1 = Run(null, out var di1, out var dw1, out var db1);
        foreach (var ex in new Crystalline.Hpc.Scheduling.ISphereExecutor[] { new ThreadedTestExecutor(2), new ReverseOrderExecutor(3) })
        {
            var y = Run(ex, out var di, out var dw, out var db);
            Assert.Equal(y1, y);
            Assert.Equal(di1, di);
            Assert.Equal(dw1, dw);
            Assert.Equal(db1, db);
        }
    }

    [Fact]
    public void Steady_state_allocates_nothing()
    {
        const int r = 64, c = 128, oc = 200;
        var input = Random(r * c, 1);
        var weight = Random(oc * c, 2);
        var bias = Random(oc, 3);
        var output = new float[r * oc];
        var dinput = new float[r * c];
        var dweight = new float[oc * c];
        var dbias = new float[oc];
        var ex = new ReverseOrderExecutor(2); // parallel code path, items on this thread
        void Step()
        {
            Linear.Forward(output, input, weight, bias, r, c, oc);
            Linear.Forward(output, input, weight, bias, r, c, oc, ex);
            Linear.Backward(dinput, dweight, dbias, output, input, weight, r, c, oc, ex);
            Sgemm.Multiply(true, true, 70, 60, 110, 1f, weight, 70, input, 110, 0f, dweight, 60);
        }
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++) Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
