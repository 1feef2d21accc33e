using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// The bf16 register tile, 6×64, on panels of k pairs (<see cref="Bf16Packing"/>): C ← α·Σ_q a_q·b_q + β·C
/// in fp32, each word pair adding its high-half product and then its low-half product, each rounded
/// to fp32 (what VDPBF16PS does; a bf16×bf16 product is exact in fp32, so each step is one fp32 FMA).
/// Runs libcrystalline_native's AVX512_BF16 tile when the library and the CPU have it, else
/// <see cref="Bf16Emulation"/> (the same bits for normal values, several times slower).
/// </summary>
internal readonly unsafe struct MicroKernelBf16 : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 64;
    public static bool PairsK => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        var tile = Bf16Native.Tile;
        if (tile != null) tile((kc + 1) >> 1, (uint*)a, (uint*)b, c, ldc, alpha, beta);
        else Bf16Emulation.Tile((kc + 1) >> 1, (uint*)a, (uint*)b, c, ldc, alpha, beta);
    }
}

/// <summary>The same tile always through the managed emulation (tests compare it with the native one).</summary>
internal readonly unsafe struct MicroKernelBf16Emulated : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 64;
    public static bool PairsK => true;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
        => Bf16Emulation.Tile((kc + 1) >> 1, (uint*)a, (uint*)b, c, ldc, alpha, beta);
}

/// <summary>
/// libcrystalline_native's bf16 tile (native/bf16_gemm.c), looked up once. Why native: VDPBF16PS has no
/// binding in System.Runtime.Intrinsics (.NET 10). Null when the library is missing or older, the CPU
/// lacks AVX512_BF16, or CRYSTALLINE_NO_NATIVE=1.
/// </summary>
internal static unsafe class Bf16Native
{
    /// <summary>cn_bf16_tile_6x64(kpairs, a, b, c, ldc, alpha, beta). A tile is about a microsecond of
    /// work and never blocks, so the call skips the GC transition.</summary>
    public static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<int, uint*, uint*, float*, nint, float, float, void> Tile = Load(out s_reason);

    private static readonly string s_reason;

    /// <summary>True when <see cref="Tile"/> is the AVX512_BF16 kernel.</summary>
    public static bool Available => Tile != null;

    /// <summary>Why the native tile is not used ("" when it is).</summary>
    public static string Reason => s_reason;

    private static delegate* unmanaged[Cdecl, SuppressGCTransition]<int, uint*, uint*, float*, nint, float, float, void> Load(out string reason)
    {
        if (Platform.PlatformOptions.FromEnvironment().DisableNativeLibrary) { reason = "CRYSTALLINE_NO_NATIVE is set"; return null; }
        if (!Platform.Linux.NativeHelper.TryLoad(Platform.Linux.NativeHelper.LibraryName, out nint lib, out string? why))
        {
            reason = why!;
            return null;
        }
        if (!NativeLibrary.TryGetExport(lib, "cn_bf16_supported", out nint supported) || !NativeLibrary.TryGetExport(lib, "cn_bf16_tile_6x64", out nint tile))
        {
            reason = "libcrystalline_native predates the bf16 kernel (rebuild native/)";
            return null;
        }
        if (((delegate* unmanaged[Cdecl]<int>)supported)() == 0)
        {
            reason = "this CPU has no AVX512_BF16";
            return null;
        }
        reason = "";
        return (delegate* unmanaged[Cdecl, SuppressGCTransition]<int, uint*, uint*, float*, nint, float, float, void>)tile;
    }
}

/// <summary>
/// The bf16 tile in managed code: per element and word, acc = fma(a_hi, b_hi, acc) then
/// acc = fma(a_lo, b_lo, acc), which is VDPBF16PS's arithmetic except that it keeps denormals (the
/// instruction flushes them to zero). A Vector512 path and a scalar one compute the same bits.
/// </summary>
internal static unsafe class Bf16Emulation
{
    private const int MR = 6, NR = 64;

    public static void Tile(int kpairs, uint* a, uint* b, float* c, nint ldc, float alpha, float beta)
    {
        if (Vector512.IsHardwareAccelerated) TileVector512(kpairs, a, b, c, ldc, alpha, beta);
        else TileScalar(kpairs, a, b, c, ldc, alpha, beta);
    }

    private static float High(uint word) => BitConverter.UInt32BitsToSingle(word & 0xFFFF_0000u);
    private static float Low(uint word) => BitConverter.UInt32BitsToSingle(word << 16);

    internal static void TileScalar(int kpairs, uint* a, uint* b, float* c, nint ldc, float alpha, float beta)
    {
        float* acc = stackalloc float[MR * NR];
        new Span<float>(acc, MR * NR).Clear();
        for (int q = 0; q < kpairs; q++, a += MR, b += NR)
            for (int r = 0; r < MR; r++)
            {
                float ah = High(a[r]), al = Low(a[r]);
                for (int j = 0; j < NR; j++)
                {
                    float s = MathF.FusedMultiplyAdd(ah, High(b[j]), acc[r * NR + j]);
                    acc[r * NR + j] = MathF.FusedMultiplyAdd(al, Low(b[j]), s);
                }
            }
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++)
            {
                float* q = c + r * ldc + j;
                *q = beta == 0f ? alpha * acc[r * NR + j] : MathF.FusedMultiplyAdd(alpha, acc[r * NR + j], beta * *q);
            }
    }

    internal static void TileVector512(int kpairs, uint* a, uint* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float>* acc = stackalloc Vector512<float>[MR * 4];
        for (int i = 0; i < MR * 4; i++) acc[i] = Vector512<float>.Zero;
        Vector512<uint> highMask = Vector512.Create(0xFFFF_0000u);
        Vector512<float>* bh = stackalloc Vector512<float>[4];
        Vector512<float>* bl = stackalloc Vector512<float>[4];
        for (int q = 0; q < kpairs; q++, a += MR, b += NR)
        {
            for (int v = 0; v < 4; v++)
            {
                Vector512<uint> w = Vector512.Load(b + 16 * v);
                bh[v] = (w & highMask).AsSingle();
                bl[v] = (w << 16).AsSingle();
            }
            for (int r = 0; r < MR; r++)
            {
                Vector512<float> ah = Vector512.Create(High(a[r])), al = Vector512.Create(Low(a[r]));
                for (int v = 0; v < 4; v++)
                    acc[r * 4 + v] = Vector512.FusedMultiplyAdd(al, bl[v], Vector512.FusedMultiplyAdd(ah, bh[v], acc[r * 4 + v]));
            }
        }
        Vector512<float> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < 4; v++)
            {
                float* q = c + r * ldc + 16 * v;
                Vector512.Store(beta == 0f ? va * acc[r * 4 + v] : Vector512.FusedMultiplyAdd(va, acc[r * 4 + v], vb * Vector512.Load(q)), q);
            }
    }
}
