// Generated shape, hand-checked: the register tile of C is MR rows × NR columns, held in MR·(NR/lanes)
// vector accumulators. Each k step loads NR/lanes vectors of packed B and broadcasts MR scalars of
// packed A; every accumulator gets one FMA. Accumulation order over k is the same for every element,
// which keeps results independent of tiling and thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>AVX-512 tile: 6×64 (24 zmm accumulators, 4 B vectors, 1 broadcast: 29 of 32 registers).</summary>
internal readonly unsafe struct MicroKernel512 : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        var c00 = Vector512<float>.Zero; var c01 = Vector512<float>.Zero; var c02 = Vector512<float>.Zero; var c03 = Vector512<float>.Zero;
        var c10 = Vector512<float>.Zero; var c11 = Vector512<float>.Zero; var c12 = Vector512<float>.Zero; var c13 = Vector512<float>.Zero;
        var c20 = Vector512<float>.Zero; var c21 = Vector512<float>.Zero; var c22 = Vector512<float>.Zero; var c23 = Vector512<float>.Zero;
        var c30 = Vector512<float>.Zero; var c31 = Vector512<float>.Zero; var c32 = Vector512<float>.Zero; var c33 = Vector512<float>.Zero;
        var c40 = Vector512<float>.Zero; var c41 = Vector512<float>.Zero; var c42 = Vector512<float>.Zero; var c43 = Vector512<float>.Zero;
        var c50 = Vector512<float>.Zero; var c51 = Vector512<float>.Zero; var c52 = Vector512<float>.Zero; var c53 = Vector512<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            var b2 = Vector512.Load(b + 32);
            var b3 = Vector512.Load(b + 48);
            var a0 = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(a0, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
            c02 = Vector512.FusedMultiplyAdd(a0, b2, c02);
            c03 = Vector512.FusedMultiplyAdd(a0, b3, c03);
            var a1 = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(a1, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
            c12 = Vector512.FusedMultiplyAdd(a1, b2, c12);
            c13 = Vector512.FusedMultiplyAdd(a1, b3, c13);
            var a2 = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(a2, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
            c22 = Vector512.FusedMultiplyAdd(a2, b2, c22);
            c23 = Vector512.FusedMultiplyAdd(a2, b3, c23);
            var a3 = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(a3, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
            c32 = Vector512.FusedMultiplyAdd(a3, b2, c32);
            c33 = Vector512.FusedMultiplyAdd(a3, b3, c33);
            var a4 = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(a4, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
            c42 = Vector512.FusedMultiplyAdd(a4, b2, c42);
            c43 = Vector512.FusedMultiplyAdd(a4, b3, c43);
            var a5 = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(a5, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
            c52 = Vector512.FusedMultiplyAdd(a5, b2, c52);
            c53 = Vector512.FusedMultiplyAdd(a5, b3, c53);
            a += 6;
            b += 64;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(va * c00, c + 0 * ldc + 0);
            Vector512.Store(va * c01, c + 0 * ldc + 16);
            Vector512.Store(va * c02, c + 0 * ldc + 32);
            Vector512.Store(va * c03, c + 0 * ldc + 48);
            Vector512.Store(va * c10, c + 1 * ldc + 0);
            Vector512.Store(va * c11, c + 1 * ldc + 16);
            Vector512.Store(va * c12, c + 1 * ldc + 32);
            Vector512.Store(va * c13, c + 1 * ldc + 48);
            Vector512.Store(va * c20, c + 2 * ldc + 0);
            Vector512.Store(va * c21, c + 2 * ldc + 16);
            Vector512.Store(va * c22, c + 2 * ldc + 32);
            Vector512.Store(va * c23, c + 2 * ldc + 48);
            Vector512.Store(va * c30, c + 3 * ldc + 0);
            Vector512.Store(va * c31, c + 3 * ldc + 16);
            Vector512.Store(va * c32, c + 3 * ldc + 32);
            Vector512.Store(va * c33, c + 3 * ldc + 48);
            Vector512.Store(va * c40, c + 4 * ldc + 0);
            Vector512.Store(va * c41, c + 4 * ldc + 16);
            Vector512.Store(va * c42, c + 4 * ldc + 32);
            Vector512.Store(va * c43, c + 4 * ldc + 48);
            Vector512.Store(va * c50, c + 5 * ldc + 0);
            Vector512.Store(va * c51, c + 5 * ldc + 16);
            Vector512.Store(va * c52, c + 5 * ldc + 32);
            Vector512.Store(va * c53, c + 5 * ldc + 48);
        }
        else
        {
            var vb = Vector512.Create(beta);
            { float* q = c + 0 * ldc + 0; Vector512.Store(Vector512.FusedMultiplyAdd(va, c00, vb * Vector512.Load(q)), q); }
            { float* q = c + 0 * ldc + 16; Vector512.Store(Vector512.FusedMultiplyAdd(va, c01, vb * Vector512.Load(q)), q); }
            { float* q = c + 0 * ldc + 32; Vector512.Store(Vector512.FusedMultiplyAdd(va, c02, vb * Vector512.Load(q)), q); }
            { float* q = c + 0 * ldc + 48; Vector512.Store(Vector512.FusedMultiplyAdd(va, c03, vb * Vector512.Load(q)), q); }
            { float* q = c + 1 * ldc + 0; Vector512.Store(Vector512.FusedMultiplyAdd(va, c10, vb * Vector512.Load(q)), q); }
            { float* q = c + 1 * ldc + 16; Vector512.Store(Vector512.FusedMultiplyAdd(va, c11, vb * Vector512.Load(q)), q); }
            { float* q = c + 1 * ldc + 32; Vector512.Store(Vector512.FusedMultiplyAdd(va, c12, vb * Vector512.Load(q)), q); }
            { float* q = c + 1 * ldc + 48; Vector512.Store(Vector512.FusedMultiplyAdd(va, c13, vb * Vector512.Load(q)), q); }
            { float* q = c + 2 * ldc + 0; Vector512.Store(Vector512.FusedMultiplyAdd(va, c20, vb * Vector512.Load(q)), q); }
            { float* q = c + 2 * ldc + 16; Vector512.Store(Vector512.FusedMultiplyAdd(va, c21, vb * Vector512.Load(q)), q); }
            { float* q = c + 2 * ldc + 32; Vector512.Store(Vector512.FusedMultiplyAdd(va, c22, vb * Vector512.Load(q)), q); }
            { float* q = c + 2 * ldc + 48; Vector512.Store(Vector512.FusedMultiplyAdd(va, c23, vb * Vector512.Load(q)), q); }
            { float* q = c + 3 * ldc + 0; Vector512.Store(Vector512.FusedMultiplyAdd(va, c30, vb * Vector512.Load(q)), q); }
            { float* q = c + 3 * ldc + 16; Vector512.Store(Vector512.FusedMultiplyAdd(va, c31, vb * Vector512.Load(q)), q); }
            { float* q = c + 3 * ldc + 32; Vector512.Store(Vector512.FusedMultiplyAdd(va, c32, vb * Vector512.Load(q)), q); }
            { float* q = c + 3 * ldc + 48; Vector512.Store(Vector512.FusedMultiplyAdd(va, c33, vb * Vector512.Load(q)), q); }
            { float* q = c + 4 * ldc + 0; Vector512.Store(Vector512.FusedMultiplyAdd(va, c40, vb * Vector512.Load(q)), q); }
            { float* q = c + 4 * ldc + 16; Vector512.Store(Vector512.FusedMultiplyAdd(va, c41, vb * Vector512.Load(q)), q); }
            { float* q = c + 4 * ldc + 32; Vector512.Store(Vector512.FusedMultiplyAdd(va, c42, vb * Vector512.Load(q)), q); }
            { float* q = c + 4 * ldc + 48; Vector512.Store(Vector512.FusedMultiplyAdd(va, c43, vb * Vector512.Load(q)), q); }
            { float* q = c + 5 * ldc + 0; Vector512.Store(Vector512.FusedMultiplyAdd(va, c50, vb * Vector512.Load(q)), q); }
            { float* q = c + 5 * ldc + 16; Vector512.Store(Vector512.FusedMultiplyAdd(va, c51, vb * Vector512.Load(q)), q); }
            { float* q = c + 5 * ldc + 32; Vector512.Store(Vector512.FusedMultiplyAdd(va, c52, vb * Vector512.Load(q)), q); }
            { float* q = c + 5 * ldc + 48; Vector512.Store(Vector512.FusedMultiplyAdd(va, c53, vb * Vector512.Load(q)), q); }
        }
    }
}

/// <summary>AVX2 tile: 6×16 (12 ymm accumulators, 2 B vectors, 1 broadcast: 15 of 16 registers).</summary>
internal readonly unsafe struct MicroKernel256 : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        var c00 = Vector256<float>.Zero; var c01 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero; var c11 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero; var c21 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero; var c31 = Vector256<float>.Zero;
        var c40 = Vector256<float>.Zero; var c41 = Vector256<float>.Zero;
        var c50 = Vector256<float>.Zero; var c51 = Vector256<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b + 0);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(a4, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(a5, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
            a += 6;
            b += 16;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Vector256.Store(va * c00, c + 0 * ldc + 0);
            Vector256.Store(va * c01, c + 0 * ldc + 8);
            Vector256.Store(va * c10, c + 1 * ldc + 0);
            Vector256.Store(va * c11, c + 1 * ldc + 8);
            Vector256.Store(va * c20, c + 2 * ldc + 0);
            Vector256.Store(va * c21, c + 2 * ldc + 8);
            Vector256.Store(va * c30, c + 3 * ldc + 0);
            Vector256.Store(va * c31, c + 3 * ldc + 8);
            Vector256.Store(va * c40, c + 4 * ldc + 0);
            Vector256.Store(va * c41, c + 4 * ldc + 8);
            Vector256.Store(va * c50, c + 5 * ldc + 0);
            Vector256.Store(va * c51, c + 5 * ldc + 8);
        }
        else
        {
            var vb = Vector256.Create(beta);
            { float* q = c + 0 * ldc + 0; Vector256.Store(Vector256.FusedMultiplyAdd(va, c00, vb * Vector256.Load(q)), q); }
            { float* q = c + 0 * ldc + 8; Vector256.Store(Vector256.FusedMultiplyAdd(va, c01, vb * Vector256.Load(q)), q); }
            { float* q = c + 1 * ldc + 0; Vector256.Store(Vector256.FusedMultiplyAdd(va, c10, vb * Vector256.Load(q)), q); }
            { float* q = c + 1 * ldc + 8; Vector256.Store(Vector256.FusedMultiplyAdd(va, c11, vb * Vector256.Load(q)), q); }
            { float* q = c + 2 * ldc + 0; Vector256.Store(Vector256.FusedMultiplyAdd(va, c20, vb * Vector256.Load(q)), q); }
            { float* q = c + 2 * ldc + 8; Vector256.Store(Vector256.FusedMultiplyAdd(va, c21, vb * Vector256.Load(q)), q); }
            { float* q = c + 3 * ldc + 0; Vector256.Store(Vector256.FusedMultiplyAdd(va, c30, vb * Vector256.Load(q)), q); }
            { float* q = c + 3 * ldc + 8; Vector256.Store(Vector256.FusedMultiplyAdd(va, c31, vb * Vector256.Load(q)), q); }
            { float* q = c + 4 * ldc + 0; Vector256.Store(Vector256.FusedMultiplyAdd(va, c40, vb * Vector256.Load(q)), q); }
            { float* q = c + 4 * ldc + 8; Vector256.Store(Vector256.FusedMultiplyAdd(va, c41, vb * Vector256.Load(q)), q); }
            { float* q = c + 5 * ldc + 0; Vector256.Store(Vector256.FusedMultiplyAdd(va, c50, vb * Vector256.Load(q)), q); }
            { float* q = c + 5 * ldc + 8; Vector256.Store(Vector256.FusedMultiplyAdd(va, c51, vb * Vector256.Load(q)), q); }
        }
    }
}

/// <summary>SSE/NEON tile: 6×8 (12 xmm accumulators, 2 B vectors, 1 broadcast: 15 of 16 registers).</summary>
internal readonly unsafe struct MicroKernel128 : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        var c00 = Vector128<float>.Zero; var c01 = Vector128<float>.Zero;
        var c10 = Vector128<float>.Zero; var c11 = Vector128<float>.Zero;
        var c20 = Vector128<float>.Zero; var c21 = Vector128<float>.Zero;
        var c30 = Vector128<float>.Zero; var c31 = Vector128<float>.Zero;
        var c40 = Vector128<float>.Zero; var c41 = Vector128<float>.Zero;
        var c50 = Vector128<float>.Zero; var c51 = Vector128<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b + 0);
            var b1 = Vector128.Load(b + 4);
            var a0 = Vector128.Create(a[0]);
            c00 = Vector128.FusedMultiplyAdd(a0, b0, c00);
            c01 = Vector128.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector128.Create(a[1]);
            c10 = Vector128.FusedMultiplyAdd(a1, b0, c10);
            c11 = Vector128.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector128.Create(a[2]);
            c20 = Vector128.FusedMultiplyAdd(a2, b0, c20);
            c21 = Vector128.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector128.Create(a[3]);
            c30 = Vector128.FusedMultiplyAdd(a3, b0, c30);
            c31 = Vector128.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector128.Create(a[4]);
            c40 = Vector128.FusedMultiplyAdd(a4, b0, c40);
            c41 = Vector128.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector128.Create(a[5]);
            c50 = Vector128.FusedMultiplyAdd(a5, b0, c50);
            c51 = Vector128.FusedMultiplyAdd(a5, b1, c51);
            a += 6;
            b += 8;
        }
        var va = Vector128.Create(alpha);
        if (beta == 0f)
        {
            Vector128.Store(va * c00, c + 0 * ldc + 0);
            Vector128.Store(va * c01, c + 0 * ldc + 4);
            Vector128.Store(va * c10, c + 1 * ldc + 0);
            Vector128.Store(va * c11, c + 1 * ldc + 4);
            Vector128.Store(va * c20, c + 2 * ldc + 0);
            Vector128.Store(va * c21, c + 2 * ldc + 4);
            Vector128.Store(va * c30, c + 3 * ldc + 0);
            Vector128.Store(va * c31, c + 3 * ldc + 4);
            Vector128.Store(va * c40, c + 4 * ldc + 0);
            Vector128.Store(va * c41, c + 4 * ldc + 4);
            Vector128.Store(va * c50, c + 5 * ldc + 0);
            Vector128.Store(va * c51, c + 5 * ldc + 4);
        }
        else
        {
            var vb = Vector128.Create(beta);
            { float* q = c + 0 * ldc + 0; Vector128.Store(Vector128.FusedMultiplyAdd(va, c00, vb * Vector128.Load(q)), q); }
            { float* q = c + 0 * ldc + 4; Vector128.Store(Vector128.FusedMultiplyAdd(va, c01, vb * Vector128.Load(q)), q); }
            { float* q = c + 1 * ldc + 0; Vector128.Store(Vector128.FusedMultiplyAdd(va, c10, vb * Vector128.Load(q)), q); }
            { float* q = c + 1 * ldc + 4; Vector128.Store(Vector128.FusedMultiplyAdd(va, c11, vb * Vector128.Load(q)), q); }
            { float* q = c + 2 * ldc + 0; Vector128.Store(Vector128.FusedMultiplyAdd(va, c20, vb * Vector128.Load(q)), q); }
            { float* q = c + 2 * ldc + 4; Vector128.Store(Vector128.FusedMultiplyAdd(va, c21, vb * Vector128.Load(q)), q); }
            { float* q = c + 3 * ldc + 0; Vector128.Store(Vector128.FusedMultiplyAdd(va, c30, vb * Vector128.Load(q)), q); }
            { float* q = c + 3 * ldc + 4; Vector128.Store(Vector128.FusedMultiplyAdd(va, c31, vb * Vector128.Load(q)), q); }
            { float* q = c + 4 * ldc + 0; Vector128.Store(Vector128.FusedMultiplyAdd(va, c40, vb * Vector128.Load(q)), q); }
            { float* q = c + 4 * ldc + 4; Vector128.Store(Vector128.FusedMultiplyAdd(va, c41, vb * Vector128.Load(q)), q); }
            { float* q = c + 5 * ldc + 0; Vector128.Store(Vector128.FusedMultiplyAdd(va, c50, vb * Vector128.Load(q)), q); }
            { float* q = c + 5 * ldc + 4; Vector128.Store(Vector128.FusedMultiplyAdd(va, c51, vb * Vector128.Load(q)), q); }
        }
    }
}
