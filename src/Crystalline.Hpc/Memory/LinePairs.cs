namespace Crystalline.Hpc.Memory;

/// <summary>
/// Placement of data several threads write: the L2 prefetchers fetch the neighbouring line of a 128-byte
/// pair along with a missed one, so data written by different threads belongs in different pairs, not
/// just different 64-byte lines.
/// </summary>
internal static unsafe class LinePairs
{
    /// <summary>Bytes in a pair of cache lines.</summary>
    public const int Bytes = 128;

    /// <summary>The first 128-byte boundary at or after <paramref name="pointer"/>, which must be 64-byte aligned
    /// (as <see cref="AlignedBuffer{T}"/> memory is): allocate 64 bytes more than needed.</summary>
    public static T* AlignUp<T>(T* pointer) where T : unmanaged =>
        ((nint)pointer & (Bytes - 1)) == 0 ? pointer : (T*)((byte*)pointer + AlignedBuffer<byte>.Alignment);
}
