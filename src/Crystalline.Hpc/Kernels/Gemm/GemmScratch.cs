using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>Per-thread pack buffers, allocated on first use by a thread and reused for every later call.</summary>
internal sealed unsafe class GemmScratch
{
    [ThreadStatic] private static GemmScratch? t_current;

    // Each buffer is made on first use: a worker of a parallel call only ever needs B and the tile,
    // the calling thread only A.
    private AlignedBuffer<float>? _a;
    private AlignedBuffer<float>? _b;
    private AlignedBuffer<float>? _tile;
    private AlignedBuffer<uint>? _words;

    public static GemmScratch Current => t_current ??= new GemmScratch();

    /// <summary>At least <paramref name="floats"/> of packed-A space; grows (rarely) and is then reused.</summary>
    public float* PackA(long floats)
    {
        if (_a is null || _a.Length < floats)
        {
            _a?.Dispose();
            _a = new AlignedBuffer<float>(Math.Max(floats, 64 * 1024));
        }
        return _a.Pointer;
    }

    /// <summary>
    /// Allocates this thread's buffers at their steady-state size now, for products with inner dimension
    /// up to <paramref name="maxInner"/>: a thread that first multiplies in the middle of a run (a worker
    /// that steals its first sphere late) then allocates nothing.
    /// </summary>
    public static void WarmUp(int maxInner)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxInner);
        var scratch = Current;
        // A request is at most PackedAFloats rounded up by one micro-panel of MR ≤ 16 rows of K floats.
        scratch.PackA(GemmBlocking.PackedAFloats + 16L * maxInner);
        _ = scratch.PackB;
        _ = scratch.Tile;
        // The bf16 packer of a transposed A stages one word per row of the block (Vp = 50304 at GPT-2).
        scratch.Words(64 * 1024);
    }

    public float* PackB => (_b ??= new AlignedBuffer<float>(GemmBlocking.PackedBFloats)).Pointer;
    /// <summary>At least <paramref name="count"/> words of staging for the bf16 packers; grows (rarely) and is then reused.</summary>
    public uint* Words(long count)
    {
        if (_words is null || _words.Length < count)
        {
            _words?.Dispose();
            _words = new AlignedBuffer<uint>(Math.Max(count, 4096));
        }
        return _words.Pointer;
    }

    public float* Tile => (_tile ??= new AlignedBuffer<float>(GemmBlocking.TileCapacity)).Pointer;
}
