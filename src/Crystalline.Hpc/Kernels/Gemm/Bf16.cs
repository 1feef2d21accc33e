using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// fp32 → bfloat16 rounding (round to nearest, ties to even; NaN stays a quiet NaN; ±∞ and overflow
/// give ±∞) and the pair packing the bf16 kernel reads: one 32-bit word holds the bf16 of an even k in
/// its low half and of the next k in its high half.
/// </summary>
internal static class Bf16
{
    /// <summary>x rounded to bf16, returned as an fp32 bit pattern with the bf16 in the high 16 bits and zeros below.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint RoundHigh(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u) return (u | 0x0040_0000u) & 0xFFFF_0000u;
        return (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF_0000u;
    }

    /// <summary>x rounded to bf16 and widened back to fp32 (what the kernel multiplies).</summary>
    public static float Round(float x) => BitConverter.UInt32BitsToSingle(RoundHigh(x));

    /// <summary>The word for the pair (x at an even k, y at the next k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pair(float even, float odd) => (RoundHigh(even) >> 16) | RoundHigh(odd);

    /// <summary><see cref="RoundHigh(float)"/> on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> RoundHigh(Vector512<float> x)
    {
        Vector512<uint> u = x.AsUInt32();
        Vector512<uint> rounded = u + Vector512.Create(0x7FFFu) + ((u >> 16) & Vector512<uint>.One);
        Vector512<uint> isNaN = Vector512.GreaterThan(u & Vector512.Create(0x7FFF_FFFFu), Vector512.Create(0x7F80_0000u));
        return Vector512.ConditionalSelect(isNaN, u | Vector512.Create(0x0040_0000u), rounded) & Vector512.Create(0xFFFF_0000u);
    }

    /// <summary>16 pair words from 16 values at even k and 16 at the following odd k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Pairs(Vector512<float> even, Vector512<float> odd) => (RoundHigh(even) >> 16) | RoundHigh(odd);

    /// <summary>
    /// dst[q] = Pair(src[2q], src[2q+1]) for q &lt; ⌈count/2⌉, an odd count's last word padded with a zero
    /// high half: a run of consecutive k packed into words.
    /// </summary>
    public static unsafe void PairRun(float* src, int count, uint* dst)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= count; i += 32)
            {
                Vector512<uint> lo = RoundHigh(Vector512.Load(src + i)) >> 16, hi = RoundHigh(Vector512.Load(src + i + 16)) >> 16;
                Vector512.Store(Vector512.Narrow(lo, hi).AsUInt32(), dst + i / 2);
            }
        }
        for (; i + 1 < count; i += 2) dst[i / 2] = Pair(src[i], src[i + 1]);
        if (i < count) dst[i / 2] = RoundHigh(src[i]) >> 16;
    }

    /// <summary>
    /// dst[j] = Pair(even[j], odd[j]) for j &lt; count; <paramref name="odd"/> null stands for zeros (the
    /// padding of an odd k extent): two rows of consecutive k combined column by column.
    /// </summary>
    public static unsafe void PairRows(float* even, float* odd, int count, uint* dst)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            if (odd != null)
                for (; j + 16 <= count; j += 16) Vector512.Store(Pairs(Vector512.Load(even + j), Vector512.Load(odd + j)), dst + j);
            else
                for (; j + 16 <= count; j += 16) Vector512.Store(RoundHigh(Vector512.Load(even + j)) >> 16, dst + j);
        }
        if (odd != null) for (; j < count; j++) dst[j] = Pair(even[j], odd[j]);
        else for (; j < count; j++) dst[j] = RoundHigh(even[j]) >> 16;
    }
}
