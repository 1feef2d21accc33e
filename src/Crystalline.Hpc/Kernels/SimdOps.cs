using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    /// <summary>Σ lanes, as a shallow tree (Vector512.Sum's own code is about three times longer).</summary>
    static abstract float Sum(TVec value);
    /// <summary>[Σ a0, Σ a1, Σ a2, Σ a3]: four horizontal sums sharing their shuffles.</summary>
    static abstract Vector128<float> Sum4(TVec a0, TVec a1, TVec a2, TVec a3);
}

/// <summary>The shared tail of every horizontal sum: 128-bit lanes.</summary>
internal static class HorizontalSum
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> v)
    {
        v += Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1));
        v += Vector128.Shuffle(v, Vector128.Create(1, 0, 3, 2));
        return v.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector128<float> y0, Vector128<float> y1, Vector128<float> y2, Vector128<float> y3)
    {
        if (Sse.IsSupported)
        {
            // Transpose-and-add: after two rounds lane i holds Σ yᵢ.
            Vector128<float> u01 = Sse.UnpackLow(y0, y1) + Sse.UnpackHigh(y0, y1);   // [y0₀+y0₂, y1₀+y1₂, y0₁+y0₃, y1₁+y1₃]
            Vector128<float> u23 = Sse.UnpackLow(y2, y3) + Sse.UnpackHigh(y2, y3);
            return Sse.MoveLowToHigh(u01, u23) + Sse.MoveHighToLow(u23, u01);
        }
        return Vector128.Create(Sum(y0), Sum(y1), Sum(y2), Sum(y3));
    }
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> value) => Simd256.Sum(value.GetLower() + value.GetUpper());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3) =>
        Simd256.Sum4(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> value) => HorizontalSum.Sum(value.GetLower() + value.GetUpper());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3) =>
        HorizontalSum.Sum4(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> value) => HorizontalSum.Sum(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector128<float> a0, Vector128<float> a1, Vector128<float> a2, Vector128<float> a3) => HorizontalSum.Sum4(a0, a1, a2, a3);
}
