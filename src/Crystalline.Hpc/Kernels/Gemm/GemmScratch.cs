using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>Per-thread pack buffers, allocated on first use by a thread and reused for every later call.</summary>
internal sealed unsafe class GemmScratch
{
    [ThreadStatic] private static GemmScratch? t_current;

    private readonly AlignedBuffer<float> _a;
    private readonly AlignedBuffer<float> _b;
    private readonly AlignedBuffer<float> _tile;

    private GemmScratch()
    {
        _a = new AlignedBuffer<float>((long)GemmBlocking.MC * GemmBlocking.KC);
        _b = new AlignedBuffer<float>((long)GemmBlocking.NC * GemmBlocking.KC);
        _tile = new AlignedBuffer<float>(GemmBlocking.TileCapacity);
    }

    public static GemmScratch Current => t_current ??= new GemmScratch();

    public float* PackA => _a.Pointer;
    public float* PackB => _b.Pointer;
    public float* Tile => _tile.Pointer;
}
