using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Crystalline.Hpc.Memory;

/// <summary>
/// The validation checksum of shared regions, FNV-1a style: the 64-bit FNV offset basis and prime,
/// applied to 64-bit little-endian words in eight interleaved lanes (lane j takes word j of each
/// 64-byte block, so eight multiply chains run at once, in one AVX-512 register where the CPU has a
/// 64-bit vector multiply), each step t = (h ^ w)·prime, h = t ^ (t >> 32); the bytes after the last
/// full block go byte by byte (plain FNV-1a) into lane 0; the lanes and the length are folded
/// FNV-style and finished with MurmurHash3's fmix64 avalanche. Lane j starts at offset basis + j.
/// </summary>
/// <remarks>
/// The xorshift feeds high bits back down: without it a flip of bit 63 stays a one-bit difference that
/// a one-bit flip of the lane's next word cancels (found by the bit-flip test). Every step is a
/// bijection of the state for a fixed word and of the word for a fixed state, and the fold and finisher
/// are bijections too, so a change confined to one 8-byte word (or one tail byte) always changes the
/// checksum: single-bit corruption is never missed. Not cryptographic. The vector path and the scalar
/// reference give the same value (tested).
/// </remarks>
public static class RegionChecksum
{
    private const ulong OffsetBasis = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;
    private const int Lanes = 8;
    private const int BlockBytes = Lanes * sizeof(ulong);

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static ulong Compute(ReadOnlySpan<byte> data) =>
        Vector512.IsHardwareAccelerated && Avx512DQ.IsSupported && BitConverter.IsLittleEndian
            ? ComputeVector512(data)
            : ComputeScalar(data);

    /// <summary>The checksum of the bytes of <paramref name="data"/>.</summary>
    public static ulong Compute<T>(ReadOnlySpan<T> data) where T : unmanaged => Compute(MemoryMarshal.AsBytes(data));

    /// <summary>The plain reference: eight scalar lanes.</summary>
    internal static ulong ComputeScalar(ReadOnlySpan<byte> data)
    {
        Span<ulong> h = stackalloc ulong[Lanes];
        for (int j = 0; j < Lanes; j++) h[j] = OffsetBasis + (ulong)j;
        int blocks = data.Length / BlockBytes;
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> block = data.Slice(b * BlockBytes, BlockBytes);
            for (int j = 0; j < Lanes; j++) h[j] = Step(h[j], BinaryPrimitives.ReadUInt64LittleEndian(block[(j * 8)..]));
        }
        return Finish(h, data[(blocks * BlockBytes)..], data.Length);
    }

    /// <summary>The same function with the eight lanes in one Vector512 (needs AVX-512DQ's 64-bit multiply).</summary>
    internal static ulong ComputeVector512(ReadOnlySpan<byte> data)
    {
        if (!Vector512.IsHardwareAccelerated || !Avx512DQ.IsSupported) throw new PlatformNotSupportedException("AVX-512DQ is not available");
        Vector512<ulong> h = Vector512.Create(OffsetBasis) + Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        Vector512<ulong> prime = Vector512.Create(Prime);
        int blocks = data.Length / BlockBytes;
        ref byte start = ref MemoryMarshal.GetReference(data);
        for (int b = 0; b < blocks; b++)
        {
            Vector512<ulong> w = Vector512.LoadUnsafe(ref Unsafe.Add(ref start, b * BlockBytes)).AsUInt64();
            Vector512<ulong> t = (h ^ w) * prime;
            h = t ^ Vector512.ShiftRightLogical(t, 32);
        }
        Span<ulong> lanes = stackalloc ulong[Lanes];
        h.CopyTo(lanes);
        return Finish(lanes, data[(blocks * BlockBytes)..], data.Length);
    }

    // The xorshift feeds high bits back down: with (h ^ w)·prime alone a flip of bit 63 stays a one-bit
    // difference (multiplication only carries upward), which the next word of the lane can cancel.
    private static ulong Step(ulong h, ulong w)
    {
        ulong t = (h ^ w) * Prime;
        return t ^ (t >> 32);
    }

    private static ulong Finish(Span<ulong> lanes, ReadOnlySpan<byte> tail, int length)
    {
        foreach (byte b in tail) lanes[0] = (lanes[0] ^ b) * Prime;
        ulong h = OffsetBasis;
        foreach (ulong lane in lanes) h = (h ^ lane) * Prime;
        h = (h ^ (ulong)length) * Prime;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }
}
