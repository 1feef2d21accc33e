using Crystalline.Hpc.Memory;
using Xunit;

namespace Crystalline.Hpc.Tests.Memory;

public sealed class RegionChecksumTests
{
    [Fact]
    public void Every_single_bit_flip_changes_the_checksum()
    {
        var data = new byte[1003]; // 15 full 64-byte blocks and a 43-byte tail
        new Random(12).NextBytes(data);
        ulong reference = RegionChecksum.Compute(data);
        var seen = new HashSet<ulong> { reference };
        for (int bit = 0; bit < data.Length * 8; bit++)
        {
            data[bit >> 3] ^= (byte)(1 << (bit & 7));
            ulong flipped = RegionChecksum.Compute(data);
            data[bit >> 3] ^= (byte)(1 << (bit & 7));
            Assert.NotEqual(reference, flipped);
            seen.Add(flipped);
        }
        Assert.Equal(reference, RegionChecksum.Compute(data));
        // Flips land on distinct values: with a plain (h ^ w)·prime lane, a bit-63 flip collided with a flip in the lane's next word.
        Assert.Equal(data.Length * 8 + 1, seen.Count);
    }

    [Fact]
    public void Two_top_bit_flips_in_one_lane_do_not_cancel()
    {
        var data = new byte[256];
        ulong reference = RegionChecksum.Compute(data);
        data[7] ^= 0x80;       // bit 63 of word 0 (lane 0)
        data[64 + 7] ^= 0x80;  // bit 63 of word 8 (lane 0 again)
        Assert.NotEqual(reference, RegionChecksum.Compute(data));
    }

    [Fact]
    public void Length_and_word_order_matter_and_equal_content_agrees()
    {
        var a = new byte[64];
        for (int i = 0; i < a.Length; i++) a[i] = (byte)i;
        var swapped = (byte[])a.Clone();
        // Swap the first two 8-byte words (they sit in different lanes).
        for (int i = 0; i < 8; i++) (swapped[i], swapped[8 + i]) = (swapped[8 + i], swapped[i]);
        Assert.NotEqual(RegionChecksum.Compute(a), RegionChecksum.Compute(swapped));
        Assert.NotEqual(RegionChecksum.Compute(new byte[32]), RegionChecksum.Compute(new byte[33]));
        Assert.NotEqual(RegionChecksum.Compute(ReadOnlySpan<byte>.Empty), RegionChecksum.Compute(new byte[1]));
        Assert.Equal(RegionChecksum.Compute(a), RegionChecksum.Compute((byte[])a.Clone()));
        float[] f = [1f, 2f, 3f];
        Assert.Equal(RegionChecksum.Compute(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan())), RegionChecksum.Compute<float>(f));
    }

    [Fact]
    public void The_vector_path_equals_the_scalar_reference()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated || !System.Runtime.Intrinsics.X86.Avx512DQ.IsSupported) return;
        var rng = new Random(5);
        var data = new byte[70_010];
        rng.NextBytes(data);
        foreach (int length in new[] { 0, 1, 7, 8, 63, 64, 65, 127, 128, 1000, 4096, 69_999 })
        {
            var span = data.AsSpan(rng.Next(0, 8), length); // unaligned starts too
            Assert.Equal(RegionChecksum.ComputeScalar(span), RegionChecksum.ComputeVector512(span));
        }
    }
}
