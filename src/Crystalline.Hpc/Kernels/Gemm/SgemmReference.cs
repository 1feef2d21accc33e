namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>The plain scalar reference (what <see cref="VectorWidth.Scalar"/> runs) and the β-only path.</summary>
internal static unsafe class SgemmReference
{
    /// <summary>C ← α·op(A)·op(B) + β·C, one element at a time, k in increasing order, float accumulation.</summary>
    public static void Multiply(in GemmArgs g, int n0, int n1)
    {
        for (int i = 0; i < g.M; i++)
        {
            float* crow = g.C + (long)i * g.Ldc;
            for (int j = n0; j < n1; j++)
            {
                float sum = 0f;
                for (int p = 0; p < g.K; p++)
                {
                    float av = g.TransA ? g.A[(long)p * g.Lda + i] : g.A[(long)i * g.Lda + p];
                    float bv = g.TransB ? g.B[(long)j * g.Ldb + p] : g.B[(long)p * g.Ldb + j];
                    sum += av * bv;
                }
                crow[j] = g.Beta == 0f ? g.Alpha * sum : g.Alpha * sum + g.Beta * crow[j];
            }
        }
    }

    /// <summary>C ← β·C (α = 0 or K = 0). β = 0 writes zeros without reading C, as BLAS does.</summary>
    public static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0f) row.Clear();
            else for (int j = 0; j < row.Length; j++) row[j] *= beta;
        }
    }
}
