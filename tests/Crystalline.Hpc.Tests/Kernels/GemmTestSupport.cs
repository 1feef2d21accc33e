using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>Double-precision reference and tolerance for GEMM tests.</summary>
internal static class GemmTestSupport
{
    public static float[] Random(int length, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var v = new float[length];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return v;
    }

    /// <summary>
    /// Checks C against α·op(A)·op(B) + β·C0 computed in double, each element within
    /// 1e-5·(|α|·Σ|a·b| + |β·c0|) + 1e-30, and that C's padding (columns N … ldc−1) is untouched.
    /// </summary>
    public static void AssertGemm(bool ta, bool tb, int m, int n, int k, float alpha, float[] a, int lda,
        float[] b, int ldb, float beta, float[] c0, float[] c, int ldc, string label)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, mag = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta ? a[p * lda + i] : a[i * lda + p];
                    double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                    mag += Math.Abs(av * bv);
                }
                double prev = beta == 0f ? 0 : beta * (double)c0[i * ldc + j];
                double expected = alpha * sum + prev;
                double tol = 1e-5 * (Math.Abs(alpha) * mag + Math.Abs(prev)) + 1e-30;
                double got = c[i * ldc + j];
                if (!(Math.Abs(got - expected) <= tol))
                    throw new Xunit.Sdk.XunitException($"{label}: C[{i},{j}] = {got}, expected {expected} ± {tol}");
            }
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                if (BitConverter.SingleToInt32Bits(c[i * ldc + j]) != BitConverter.SingleToInt32Bits(c0[i * ldc + j]))
                    throw new Xunit.Sdk.XunitException($"{label}: padding C[{i},{j}] was written");
        }
        for (int idx = m == 0 ? 0 : (m - 1) * ldc + n; idx < c.Length; idx++)
            if (BitConverter.SingleToInt32Bits(c[idx]) != BitConverter.SingleToInt32Bits(c0[idx]))
                throw new Xunit.Sdk.XunitException($"{label}: C[{idx}] past the matrix was written");
    }
}

/// <summary>Runs items on real threads (one task per item) and reports a chosen worker count.</summary>
internal sealed class ThreadedTestExecutor(int workers) : ISphereExecutor
{
    public int WorkerCount => workers;
    public int SphereCount => 12;

    public void RunEpoch(ISphereWork work)
    {
        for (int s = 0; s < SphereCount; s++) work.ExecuteSphere(s, 0);
    }

    public void RunParallel(IParallelWork work, int itemCount)
    {
        var threads = new Thread[itemCount];
        for (int i = 0; i < itemCount; i++)
        {
            int item = i;
            threads[i] = new Thread(() => work.ExecuteItem(item, item));
            threads[i].Start();
        }
        foreach (var t in threads) t.Join();
    }
}

/// <summary>Reports several workers but runs the items on the calling thread in reverse order.</summary>
internal sealed class ReverseOrderExecutor(int workers) : ISphereExecutor
{
    public int WorkerCount => workers;
    public int SphereCount => 12;
    public void RunEpoch(ISphereWork work) { for (int s = SphereCount - 1; s >= 0; s--) work.ExecuteSphere(s, 0); }
    public void RunParallel(IParallelWork work, int itemCount) { for (int i = itemCount - 1; i >= 0; i--) work.ExecuteItem(i, 0); }
}
