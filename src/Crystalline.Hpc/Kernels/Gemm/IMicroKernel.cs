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
}
