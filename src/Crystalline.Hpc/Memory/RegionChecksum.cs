using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Memory;

/// <summary>
/// The validation checksum of shared regions, FNV-1a style: the 64-bit FNV offset basis and prime,
/// applied to 64-bit little-endian words in four interleaved lanes (four multiply chains at once instead
/// of one byte at a time), each step t = (h ^ w)·prime, h = t ^ (t >> 32); trailing bytes go byte by byte (plain
/// FNV-1a) into lane 0; the lanes and the length are folded FNV-style and finished with MurmurHash3's
/// fmix64 avalanche.
/// </summary>
/// <remarks>
/// The xorshift feeds high bits back down: without it a flip of bit 63 stays a one-bit difference that
/// a one-bit flip of the lane's next word cancels (found by the bit-flip test). Every step is a
/// bijection of the state for a fixed word and of the word for a fixed state, and the fold and finisher
/// are bijections too, so a change confined to one 8-byte word (or one tail byte) always changes the
/// checksum: single-bit corruption is never missed. Not cryptographic.
/// </remarks>
public static class RegionChecksum
{
    private const ulong OffsetBasis = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static ulong Compute(ReadOnlySpan<byte> data)
    {
        ulong h0 = OffsetBasis, h1 = OffsetBasis + 1, h2 = OffsetBasis + 2, h3 = OffsetBasis + 3;
        int blocks = data.Length / 32;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data[..(blocks * 32)]);
        bool little = BitConverter.IsLittleEndian;
        for (int i = 0; i < words.Length; i += 4)
        {
            ulong w0 = words[i], w1 = words[i + 1], w2 = words[i + 2], w3 = words[i + 3];
            if (!little)
            {
                w0 = BinaryPrimitives.ReverseEndianness(w0); w1 = BinaryPrimitives.ReverseEndianness(w1);
                w2 = BinaryPrimitives.ReverseEndianness(w2); w3 = BinaryPrimitives.ReverseEndianness(w3);
            }
            h0 = Step(h0, w0);
            h1 = Step(h1, w1);
            h2 = Step(h2, w2);
            h3 = Step(h3, w3);
        }
        foreach (byte b in data[(blocks * 32)..]) h0 = (h0 ^ b) * Prime;
        ulong h = OffsetBasis;
        h = (h ^ h0) * Prime;
        h = (h ^ h1) * Prime;
        h = (h ^ h2) * Prime;
        h = (h ^ h3) * Prime;
        h = (h ^ (ulong)data.Length) * Prime;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }

    // The xorshift feeds high bits back down: with (h ^ w)·prime alone a flip of bit 63 stays a one-bit
    // difference (multiplication only carries upward), which the next word of the lane can cancel.
    private static ulong Step(ulong h, ulong w)
    {
        ulong t = (h ^ w) * Prime;
        return t ^ (t >> 32);
    }

    /// <summary>The checksum of the bytes of <paramref name="data"/>.</summary>
    public static ulong Compute<T>(ReadOnlySpan<T> data) where T : unmanaged => Compute(MemoryMarshal.AsBytes(data));
}
