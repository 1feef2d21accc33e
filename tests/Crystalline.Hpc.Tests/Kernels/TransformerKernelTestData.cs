using Crystalline.Hpc.Kernels;
using Xunit;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>Shared data and comparisons for the transformer-kernel tests.</summary>
internal static class TransformerKernelTestData
{
    /// <summary>The awkward sizes every kernel is swept over (around vector multiples and GPT-2's C = 768).</summary>
    public static readonly int[] AwkwardSizes = [1, 3, 17, 63, 65, 767, 769];

    public static IEnumerable<object[]> Widths() => KernelDispatch.Supported.Select(w => new object[] { w });

    public static IEnumerable<object[]> VectorWidths() =>
        KernelDispatch.Supported.Where(w => w != VectorWidth.Scalar).Select(w => new object[] { w });

    public static float[] Random(int n, int seed, float scale = 1f, float offset = 0f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = offset + scale * (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    public static int[] RandomInts(int n, int seed, int maxExclusive)
    {
        var rng = new Random(seed);
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = rng.Next(maxExclusive);
        return a;
    }

    /// <summary>|actual − expected| ≤ rtol·max(|expected|, magnitude) + atol, element by element.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol = 0,
        double magnitude = 0, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            double tol = rtol * Math.Max(Math.Abs(e), magnitude) + atol;
            if (!(Math.Abs(a - e) <= tol))
                Assert.Fail($"{what}[{i}]: expected {e:R}, got {a:R} (|diff| {Math.Abs(a - e):E3} > tol {tol:E3})");
        }
    }

    public static double MaxAbs(ReadOnlySpan<float> x)
    {
        double m = 0;
        foreach (float v in x) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    /// <summary>
    /// Central differences of a scalar loss with respect to every element of <paramref name="x"/> (or
    /// a strided subset), compared with the analytic gradient.
    /// </summary>
    public static void CheckGradient(string what, float[] x, ReadOnlySpan<float> analytic, Func<double> loss, float eps,
        double rtol, double atol, int stride = 1)
    {
        Assert.Equal(x.Length, analytic.Length);
        for (int i = 0; i < x.Length; i += stride)
        {
            float saved = x[i];
            x[i] = saved + eps;
            double plus = loss();
            x[i] = saved - eps;
            double minus = loss();
            x[i] = saved;
            // The step actually taken, after rounding x ± eps to float.
            double h = (double)(saved + eps) - (saved - eps);
            double numeric = (plus - minus) / h;
            double a = analytic[i];
            double tol = rtol * Math.Max(Math.Abs(numeric), Math.Abs(a)) + atol;
            if (!(Math.Abs(numeric - a) <= tol))
                Assert.Fail($"{what}[{i}]: finite difference {numeric:E6}, analytic {a:E6} (|diff| {Math.Abs(numeric - a):E3} > {tol:E3})");
        }
    }

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>Asserts the action throws ArgumentException and leaves <paramref name="guarded"/> untouched.</summary>
    public static void AssertRejected(Action action, params float[][] guarded)
    {
        float[][] before = guarded.Select(g => (float[])g.Clone()).ToArray();
        Assert.ThrowsAny<ArgumentException>(action);
        for (int i = 0; i < guarded.Length; i++)
            Assert.True(before[i].AsSpan().SequenceEqual(guarded[i]), $"buffer {i} was written before the shape check");
    }
}
