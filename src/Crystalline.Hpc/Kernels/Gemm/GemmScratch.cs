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
    public float* PackB => (_b ??= new AlignedBuffer<float>((long)GemmBlocking.NC * GemmBlocking.KC)).Pointer;
    public float* Tile => (_tile ??= new AlignedBuffer<float>(GemmBlocking.TileCapacity)).Pointer;
}
