using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Single-precision general matrix multiply with BLAS row-major semantics:
/// C ← α·op(A)·op(B) + β·C, where op(X) is X or Xᵀ, op(A) is M×K, op(B) is K×N and C is M×N.
/// </summary>
/// <remarks>
/// <para>Storage is row-major: element (r, c) of a stored matrix with leading dimension ld sits at
/// index r·ld + c. A is stored M×K (K×M when <c>transA</c>), B is stored K×N (N×K when <c>transB</c>).</para>
/// <para>NaN behaviour follows reference BLAS: when β = 0, C is written without being read (NaN or
/// garbage in C does not propagate); when α = 0 or K = 0, A and B are not read. Otherwise NaN and
/// infinity propagate through the arithmetic as IEEE-754 says.</para>
/// <para>The result does not depend on the number of threads: each element of C is computed by one
/// thread with the same order of operations. C must not overlap A or B.</para>
/// </remarks>
public static class Sgemm
{
    /// <summary>C ← α·op(A)·op(B) + β·C on the calling thread.</summary>
    /// <param name="transA">Use Aᵀ (A stored K×M).</param>
    /// <param name="transB">Use Bᵀ (B stored N×K).</param>
    /// <param name="m">Rows of C and of op(A).</param>
    /// <param name="n">Columns of C and of op(B).</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A, row-major with leading dimension <paramref name="lda"/>.</param>
    /// <param name="lda">Leading dimension of A: at least its stored column count (and at least 1).</param>
    /// <param name="b">B, row-major with leading dimension <paramref name="ldb"/>.</param>
    /// <param name="ldb">Leading dimension of B: at least its stored column count (and at least 1).</param>
    /// <param name="beta">Scale of the previous C (0: C is overwritten without being read).</param>
    /// <param name="c">C, row-major with leading dimension <paramref name="ldc"/>; updated in place.</param>
    /// <param name="ldc">Leading dimension of C: at least N (and at least 1).</param>
    /// <param name="width">Force a SIMD width (tests, benchmarks); Auto picks the widest accelerated.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or a width is unknown.</exception>
    /// <exception cref="ArgumentException">A leading dimension is too small or a span is too short for its shape.</exception>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc,
        VectorWidth width = VectorWidth.Auto)
        => Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, null, width);

    /// <summary>
    /// C ← α·op(A)·op(B) + β·C, split across the workers of <paramref name="executor"/> (null: the
    /// calling thread). Same parameters and guarantees as the single-threaded overload; the result is
    /// bitwise the same whatever the worker count.
    /// </summary>
    /// <remarks>Calls <see cref="ISphereExecutor.RunParallel"/> twice per block of rows (pack, compute), so it
    /// must not be called from inside a work item of the same executor; use the single-threaded overload
    /// there. Products below about 2²⁰ multiply-adds stay on the calling thread.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or a width is unknown.</exception>
    /// <exception cref="ArgumentException">A leading dimension is too small or a span is too short for its shape.</exception>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc,
        ISphereExecutor? executor,
        VectorWidth width = VectorWidth.Auto)
        => Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, executor, width, GemmPrecision.Fp32);

    /// <summary>As the public overload, at <paramref name="precision"/> (bf16: the width is ignored; the one bf16
    /// kernel runs). Same bits for any worker count at either precision.</summary>
    internal static unsafe void Multiply(
        bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc,
        ISphereExecutor? executor, VectorWidth width, GemmPrecision precision)
    {
        GemmPrecisions.Check(precision);
        VectorWidth resolved = KernelDispatch.Resolve(width);
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            if (k == 0 || alpha == 0f)
            {
                SgemmReference.ScaleC(m, n, beta, pc, ldc);
                return;
            }
            var args = new GemmArgs(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            SgemmDriver.Run(in args, resolved, executor, precision);
        }
    }

    /// <summary>
    /// C ← α·op(A)·op(B)[kOffset .. kOffset+k, :] + β·C on the calling thread, with op(B) taken pre-packed
    /// from <paramref name="b"/> (rows kOffset … of it: a split-k chunk). Bitwise what <see cref="Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, VectorWidth)"/>
    /// computes on the same values at the operand's width.
    /// </summary>
    /// <exception cref="ArgumentException">a shape does not match the operand, kOffset is not a multiple of its KC
    /// slices, or a span is too short.</exception>
    internal static unsafe void MultiplyPacked(bool transA, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        Gemm.PackedOperand b, int kOffset, float beta, Span<float> c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (n != b.N) throw new ArgumentException($"n = {n}, but the packed operand has {b.N} columns", nameof(n));
        if (kOffset < 0 || kOffset % b.Depth != 0 || (long)kOffset + k > b.K)
            throw new ArgumentException($"rows {kOffset} … {kOffset + k} of a packed operand of {b.K} rows cut every {b.Depth}", nameof(kOffset));
        Validate(transA, false, m, n, k, a.Length, lda, k * n, Math.Max(1, n), c.Length, ldc);
        if (m == 0 || n == 0) return;
        fixed (float* pa = a)
        fixed (float* pc = c)
        {
            if (k == 0 || alpha == 0f)
            {
                SgemmReference.ScaleC(m, n, beta, pc, ldc);
                return;
            }
            var args = new Gemm.GemmArgs(transA, b.TransB, m, n, k, alpha, pa, lda, null, 1, beta, pc, ldc)
            {
                PackedB = b.Data + (long)Gemm.SgemmDriver.PanelSteps(kOffset, b.Precision) * b.PaddedColumns,
                PackedNPad = b.PaddedColumns,
            };
            Gemm.SgemmDriver.Run(in args, b.Width, null, b.Precision);
        }
    }

    /// <summary>Checks shapes and lengths; throws before any memory is touched.</summary>
    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckMatrix("a", "lda", transA ? k : m, transA ? m : k, aLength, lda);
        CheckMatrix("b", "ldb", transB ? n : k, transB ? k : n, bLength, ldb);
        CheckMatrix("c", "ldc", m, n, cLength, ldc);
    }

    private static void CheckMatrix(string name, string ldName, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"{ldName} = {ld} is smaller than the {cols} stored columns of {name} (and must be at least 1)", ldName);
        long required = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < required)
            throw new ArgumentException($"{name} holds {length} elements; a {rows}×{cols} matrix with leading dimension {ld} needs {required}", name);
    }
}
