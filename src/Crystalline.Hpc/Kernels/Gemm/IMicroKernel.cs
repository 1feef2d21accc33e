namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// A register-blocked kernel: C[MR×NR] ← α·(Ap·Bp) + β·C, where Ap is a packed MR×kc micro-panel
/// (for each k, MR consecutive values) and Bp a packed kc×NR micro-panel (for each k, NR values).
/// β = 0 writes C without reading it. Implemented by structs so the driver is specialised per kernel.
/// </summary>
internal unsafe interface IMicroKernel
{
    static abstract int MR { get; }
    static abstract int NR { get; }
    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta);

    /// <summary>
    /// True for the bf16 kernels: their panels hold two k per 32-bit word (<see cref="Bf16Packing"/>), so
    /// a k extent of kc takes ⌈kc/2⌉ slots per panel row and the driver packs with the bf16 packers.
    /// </summary>
    static virtual bool PairsK => false;
}
