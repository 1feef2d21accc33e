/*
 * The bf16 GEMM micro-kernel of Crystalline.Hpc (mixed precision: bf16 inputs, fp32 accumulation).
 *
 * Why native: VDPBF16PS (AVX512_BF16) is the only x86 instruction that multiplies bf16 pairs at twice
 * the fp32 FMA rate, and .NET 10's System.Runtime.Intrinsics has no binding for it. Everything else
 * (blocking, packing, the bf16 rounding) stays in C#; this file is one register tile.
 *
 * Layout (written by the C# packers, Kernels/Gemm/Bf16Packing.cs): one 32-bit word holds the bf16
 * values of two consecutive k (k even in the low half, k+1 in the high half).
 *   a: for each k pair q, MR = 6 words (rows 0..5);        a + q*6
 *   b: for each k pair q, NR = 64 words (columns 0..63);   b + q*64
 * C[6x64] <- alpha * sum_q (a_q . b_q) + beta * C  (beta == 0: C is written without being read).
 *
 * Arithmetic: VDPBF16PS adds the high-half product, then the low-half product, each rounded to fp32
 * (RNE), with input and output denormals flushed to zero. A bf16 x bf16 product is exact in fp32, so
 * per element this is fmaf(a_lo, b_lo, fmaf(a_hi, b_hi, acc)): the managed emulation in
 * Bf16MicroKernel.cs computes those same bits for normal values (tested).
 */
#include <stdint.h>
#include <immintrin.h>

#if defined(__GNUC__)
#define CN_BF16_API __attribute__((visibility("default")))
#else
#define CN_BF16_API
#endif

/* 1 when this CPU executes AVX512F and AVX512_BF16 (and the OS saves the zmm state), else 0. */
CN_BF16_API int cn_bf16_supported(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bf16")))
CN_BF16_API void cn_bf16_tile_6x64(int kpairs, const uint32_t *a, const uint32_t *b, float *c, int64_t ldc,
                                   float alpha, float beta)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c02 = _mm512_setzero_ps(), c03 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps(), c12 = _mm512_setzero_ps(), c13 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c22 = _mm512_setzero_ps(), c23 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c32 = _mm512_setzero_ps(), c33 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c42 = _mm512_setzero_ps(), c43 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps(), c52 = _mm512_setzero_ps(), c53 = _mm512_setzero_ps();
    for (int q = 0; q < kpairs; q++, a += 6, b += 64)
    {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + 0));
        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + 16));
        __m512bh b2 = (__m512bh)_mm512_loadu_si512((const void *)(b + 32));
        __m512bh b3 = (__m512bh)_mm512_loadu_si512((const void *)(b + 48));
        __m512bh r;
        r = (__m512bh)_mm512_set1_epi32((int)a[0]);
        c00 = _mm512_dpbf16_ps(c00, r, b0); c01 = _mm512_dpbf16_ps(c01, r, b1); c02 = _mm512_dpbf16_ps(c02, r, b2); c03 = _mm512_dpbf16_ps(c03, r, b3);
        r = (__m512bh)_mm512_set1_epi32((int)a[1]);
        c10 = _mm512_dpbf16_ps(c10, r, b0); c11 = _mm512_dpbf16_ps(c11, r, b1); c12 = _mm512_dpbf16_ps(c12, r, b2); c13 = _mm512_dpbf16_ps(c13, r, b3);
        r = (__m512bh)_mm512_set1_epi32((int)a[2]);
        c20 = _mm512_dpbf16_ps(c20, r, b0); c21 = _mm512_dpbf16_ps(c21, r, b1); c22 = _mm512_dpbf16_ps(c22, r, b2); c23 = _mm512_dpbf16_ps(c23, r, b3);
        r = (__m512bh)_mm512_set1_epi32((int)a[3]);
        c30 = _mm512_dpbf16_ps(c30, r, b0); c31 = _mm512_dpbf16_ps(c31, r, b1); c32 = _mm512_dpbf16_ps(c32, r, b2); c33 = _mm512_dpbf16_ps(c33, r, b3);
        r = (__m512bh)_mm512_set1_epi32((int)a[4]);
        c40 = _mm512_dpbf16_ps(c40, r, b0); c41 = _mm512_dpbf16_ps(c41, r, b1); c42 = _mm512_dpbf16_ps(c42, r, b2); c43 = _mm512_dpbf16_ps(c43, r, b3);
        r = (__m512bh)_mm512_set1_epi32((int)a[5]);
        c50 = _mm512_dpbf16_ps(c50, r, b0); c51 = _mm512_dpbf16_ps(c51, r, b1); c52 = _mm512_dpbf16_ps(c52, r, b2); c53 = _mm512_dpbf16_ps(c53, r, b3);
    }
    const __m512 va = _mm512_set1_ps(alpha);
#define CN_STORE_ROW(i, x0, x1, x2, x3)                                                              \
    do {                                                                                           \
        float *row = c + (int64_t)(i) * ldc;                                                          \
        if (beta == 0.0f) {                                                                        \
            _mm512_storeu_ps(row + 0, _mm512_mul_ps(va, x0));                                      \
            _mm512_storeu_ps(row + 16, _mm512_mul_ps(va, x1));                                     \
            _mm512_storeu_ps(row + 32, _mm512_mul_ps(va, x2));                                     \
            _mm512_storeu_ps(row + 48, _mm512_mul_ps(va, x3));                                     \
        } else {                                                                                   \
            const __m512 vb = _mm512_set1_ps(beta);                                                \
            _mm512_storeu_ps(row + 0, _mm512_fmadd_ps(va, x0, _mm512_mul_ps(vb, _mm512_loadu_ps(row + 0))));   \
            _mm512_storeu_ps(row + 16, _mm512_fmadd_ps(va, x1, _mm512_mul_ps(vb, _mm512_loadu_ps(row + 16)))); \
            _mm512_storeu_ps(row + 32, _mm512_fmadd_ps(va, x2, _mm512_mul_ps(vb, _mm512_loadu_ps(row + 32)))); \
            _mm512_storeu_ps(row + 48, _mm512_fmadd_ps(va, x3, _mm512_mul_ps(vb, _mm512_loadu_ps(row + 48)))); \
        }                                                                                          \
    } while (0)
    CN_STORE_ROW(0, c00, c01, c02, c03);
    CN_STORE_ROW(1, c10, c11, c12, c13);
    CN_STORE_ROW(2, c20, c21, c22, c23);
    CN_STORE_ROW(3, c30, c31, c32, c33);
    CN_STORE_ROW(4, c40, c41, c42, c43);
    CN_STORE_ROW(5, c50, c51, c52, c53);
#undef CN_STORE_ROW
}
#endif
