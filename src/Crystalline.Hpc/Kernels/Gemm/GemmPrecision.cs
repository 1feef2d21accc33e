namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>The arithmetic of a GEMM's products.</summary>
internal enum GemmPrecision
{
    /// <summary>fp32 inputs, fp32 fused multiply-adds (the default; what every reference test checks).</summary>
    Fp32 = 0,

    /// <summary>
    /// Mixed precision: op(A) and op(B) rounded to bfloat16 (round to nearest even) when packed, products
    /// accumulated in fp32 two k at a time (VDPBF16PS where the CPU has AVX512_BF16, an exact managed
    /// emulation elsewhere). α, β and C stay fp32. Relative error per product about 2⁻⁸.
    /// </summary>
    Bf16 = 1,
}

internal static class GemmPrecisions
{
    /// <exception cref="ArgumentOutOfRangeException">not a defined <see cref="GemmPrecision"/>.</exception>
    public static void Check(GemmPrecision precision)
    {
        if (precision is not (GemmPrecision.Fp32 or GemmPrecision.Bf16))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown GEMM precision (Fp32 or Bf16)");
    }
}
