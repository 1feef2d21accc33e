using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Memory;

/// <summary>
/// The validation checksum of shared regions: FNV-1a (64-bit offset basis and prime) applied to
/// 64-bit little-endian words in four interleaved lanes, so four multiply chains run at once instead
/// of one byte at a time; trailing bytes go byte by byte into lane 0; the lanes and the length are
/// folded FNV-style and finished with the MurmurHash3 fmix64 avalanche.
/// </summary>
/// <remarks>
/// Each step (h ^ w)·prime with an odd prime is a bijection of h for fixed w and of w for fixed h, and
/// the fold and finisher are bijections too, so a change confined to one 8-byte word (or one tail byte)
/// always changes the checksum — single-bit corruption is never missed. Not cryptographic.
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
            h0 = (h0 ^ w0) * Prime;
            h1 = (h1 ^ w1) * Prime;
            h2 = (h2 ^ w2) * Prime;
            h3 = (h3 ^ w3) * Prime;
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

    /// <summary>The checksum of the bytes of <paramref name="data"/>.</summary>
    public static ulong Compute<T>(ReadOnlySpan<T> data) where T : unmanaged => Compute(MemoryMarshal.AsBytes(data));
}
