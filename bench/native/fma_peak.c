/*
 * Independent peak check, outside .NET: twelve independent accumulator chains of one instruction, in
 * inline assembly so no compiler can fold, spill or reorder them. Prints GFLOP/s on one core for the
 * fp32 FMA at 512 and 256 bits and for AVX512_BF16's VDPBF16PS (2 bf16 products + 2 adds per lane).
 *
 *   gcc -O2 -mavx512f bench/native/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *
 * On the development VM (CPUID family 25 model 17: Zen 4, whose 512-bit ops run on 256-bit units)
 * it prints about 117 / 117 / 234: Vector512 FMAs are no faster than Vector256 ones there, and bf16 dot
 * products are twice either (docs/kernels-gemm.md).
 */
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define R12(I) I(0) I(1) I(2) I(3) I(4) I(5) I(6) I(7) I(8) I(9) I(10) I(11)
#define Z(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n"
#define Y(i) "vfmadd231ps %%ymm30, %%ymm31, %%ymm" #i "\n"
#define B(i) "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #i "\n"
#define LOOP(BODY)                                                                                   \
    __asm__ volatile("vpxord %%zmm30,%%zmm30,%%zmm30\n vpxord %%zmm31,%%zmm31,%%zmm31\n 1:\n" R12(BODY) \
                     "dec %0\n jnz 1b\n"                                                             \
                     : "+r"(n)::"memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",    \
                       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11")

int main(void)
{
    for (int rep = 0; rep < 3; rep++)
    {
        long N = 100000000, n = N;
        double t0 = now();
        LOOP(Z);
        double t = now() - t0;
        printf("fp32 FMA, zmm (512-bit): %6.1f GFLOP/s\n", N * 12 * 32.0 / t / 1e9);
        n = N;
        t0 = now();
        LOOP(Y);
        t = now() - t0;
        printf("fp32 FMA, ymm (256-bit): %6.1f GFLOP/s\n", N * 12 * 16.0 / t / 1e9);
        n = N;
        t0 = now();
        LOOP(B);
        t = now() - t0;
        printf("bf16 VDPBF16PS, zmm:     %6.1f GFLOP/s\n", N * 12 * 64.0 / t / 1e9);
    }
    return 0;
}
