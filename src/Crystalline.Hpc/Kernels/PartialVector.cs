using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Loads and stores of fewer than one vector's worth of elements (a kernel's remainder), through a
/// padded register. Element loops rather than a block copy on purpose: a memcpy helper call in a
/// kernel makes the JIT keep its vector accumulators in stack slots for the whole loop (no SIMD
/// register survives a call on SysV x64), which costs several times the kernel's speed.
/// </summary>
internal static class PartialVector
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(ref float src, nuint count, float pad)
    {
        Vector512<float> v = Vector512.Create(pad);
        ref float lanes = ref Unsafe.As<Vector512<float>, float>(ref v);
        for (nuint k = 0; k < count; k++) Unsafe.Add(ref lanes, k) = Unsafe.Add(ref src, k);
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(ref float src, nuint count, float pad)
    {
        Vector256<float> v = Vector256.Create(pad);
        ref float lanes = ref Unsafe.As<Vector256<float>, float>(ref v);
        for (nuint k = 0; k < count; k++) Unsafe.Add(ref lanes, k) = Unsafe.Add(ref src, k);
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load128(ref float src, nuint count, float pad)
    {
        Vector128<float> v = Vector128.Create(pad);
        ref float lanes = ref Unsafe.As<Vector128<float>, float>(ref v);
        for (nuint k = 0; k < count; k++) Unsafe.Add(ref lanes, k) = Unsafe.Add(ref src, k);
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TVec>(TVec v, ref float dst, nuint count) where TVec : unmanaged
    {
        ref float lanes = ref Unsafe.As<TVec, float>(ref v);
        for (nuint k = 0; k < count; k++) Unsafe.Add(ref dst, k) = Unsafe.Add(ref lanes, k);
    }
}
