namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>One validated GEMM call, as pointers (the spans are pinned by the caller for its duration).</summary>
internal readonly unsafe struct GemmArgs(
    bool transA, bool transB, int m, int n, int k,
    float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
{
    public readonly bool TransA = transA;
    public readonly bool TransB = transB;
    public readonly int M = m;
    public readonly int N = n;
    public readonly int K = k;
    public readonly float Alpha = alpha;
    public readonly float* A = a;
    public readonly int Lda = lda;
    public readonly float* B = b;
    public readonly int Ldb = ldb;
    public readonly float Beta = beta;
    public readonly float* C = c;
    public readonly int Ldc = ldc;

    /// <summary>op(B) already packed for the kernel (see <see cref="PackedOperand"/>): k slice pc starts at
    /// PackedB + pc·PackedNPad, the panel of columns [j, j+NR) at + j·kc. Null: the driver packs B itself.</summary>
    public float* PackedB { get; init; }

    /// <summary>Columns of the packed operand, rounded up to whole NR panels.</summary>
    public long PackedNPad { get; init; }
}
