using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// The handful of vector operations the row kernels need, as static abstract members so that one
/// generic kernel body is specialised by the JIT for each width (a struct type argument gets its own
/// fully inlined code), instead of three hand-copied bodies.
/// </summary>
internal interface ISimdOps<TVec> where TVec : struct
{
    static abstract nuint Count { get; }
    static abstract TVec Zero { get; }
    static abstract TVec Broadcast(float value);
    static abstract TVec Load(ref float source, nuint offset);
    static abstract void Store(TVec value, ref float destination, nuint offset);
    /// <summary>The first <paramref name="count"/> (&lt; Count) elements, the other lanes 0.</summary>
    static abstract TVec LoadPartial(ref float source, nuint count);
    static abstract void StorePartial(TVec value, ref float destination, nuint count);
    static abstract TVec FusedMultiplyAdd(TVec a, TVec b, TVec addend);
    static abstract float Sum(TVec value);
}

internal readonly struct Simd512 : ISimdOps<Vector512<float>>
{
    public static nuint Count => (nuint)Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadPartial(ref float source, nuint count) => PartialVector.Load512(ref source, count, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StorePartial(Vector512<float> value, ref float destination, nuint count) => PartialVector.Store(value, ref destination, count);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> addend) => Vector512.FusedMultiplyAdd(a, b, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> value) => Vector512.Sum(value);
}

internal readonly struct Simd256 : ISimdOps<Vector256<float>>
{
    public static nuint Count => (nuint)Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadPartial(ref float source, nuint count) => PartialVector.Load256(ref source, count, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StorePartial(Vector256<float> value, ref float destination, nuint count) => PartialVector.Store(value, ref destination, count);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> addend) => Vector256.FusedMultiplyAdd(a, b, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> value) => Vector256.Sum(value);
}

internal readonly struct Simd128 : ISimdOps<Vector128<float>>
{
    public static nuint Count => (nuint)Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref float source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadPartial(ref float source, nuint count) => PartialVector.Load128(ref source, count, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StorePartial(Vector128<float> value, ref float destination, nuint count) => PartialVector.Store(value, ref destination, count);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> FusedMultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> addend) => Vector128.FusedMultiplyAdd(a, b, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> value) => Vector128.Sum(value);
}
