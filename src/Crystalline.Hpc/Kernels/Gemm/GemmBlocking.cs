using Crystalline.Hpc.Platform;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// Cache blocking, fixed once per process from the platform's cache sizes (never from the thread
/// count, so the summation order, hence the result, is the same for any number of workers).
/// </summary>
/// <remarks>
/// The micro-kernel keeps one packed A micro-panel (MR×KC) in L1 while it streams the packed B block
/// (KC×NC) from L2, so KC is bounded by L1 and KC·NC by about half of L2. The packed A block is read
/// once per B block; it only has to stay in the outer caches.
/// </remarks>
internal static class GemmBlocking
{
    /// <summary>Depth of one rank-KC update (the k extent of a packed panel).</summary>
    public static int KC { get; }

    /// <summary>Columns of B packed per block (a multiple of every kernel's NR).</summary>
    public static int NC { get; }

    /// <summary>
    /// Floats of packed A held at once: a block of rows × all of K, packed once and shared by every
    /// worker, so a parallel call synchronises twice per block instead of twice per KC slice.
    /// </summary>
    public static int PackedAFloats { get; }

    /// <summary>Largest NR of any kernel.</summary>
    public const int MaxNR = 64;

    /// <summary>MR of the main kernels (sizes KC against L1).</summary>
    public const int MaxMR = 6;

    /// <summary>Floats in the edge-tile staging buffer: enough for any kernel's MR×NR (at most 16×64).</summary>
    public const int TileCapacity = 16 * 64;

    static GemmBlocking()
    {
        long l1 = 48 * 1024, l2 = 1024 * 1024;
        try
        {
            var t = PlatformServices.Current.Topology;
            if (t.L1DataBytes > 0) l1 = t.L1DataBytes;
            if (t.L2Bytes > 0) l2 = t.L2Bytes;
        }
#pragma warning disable CA1031 // blocking must come out of any platform failure with defaults
        catch (Exception) { }
#pragma warning restore CA1031
        // A micro-panel (MaxMR·KC floats) takes about an eighth of L1, leaving room for the B stream.
        int kc = (int)Math.Clamp(l1 / 8 / (MaxMR * sizeof(float)), 64, 512);
        KC = kc / 16 * 16;
        // Packed B block: about half of L2.
        long nc = l2 / 2 / ((long)KC * sizeof(float));
        NC = (int)Math.Clamp(nc / MaxNR * MaxNR, MaxNR, 4096);
        // 8 MB: the GPT-2 shapes (256 rows × K ≤ 3072) and 1024³ pack A in one block; it stays in L3.
        PackedAFloats = 1 << 21;

        // Tuning overrides (benchmarks): CRYSTALLINE_GEMM_KC / _NC / _AFLOATS, rounded to legal values.
        KC = Override("CRYSTALLINE_GEMM_KC", KC, 16, 16, 2048);
        NC = Override("CRYSTALLINE_GEMM_NC", NC, MaxNR, MaxNR, 16384);
        PackedAFloats = Override("CRYSTALLINE_GEMM_AFLOATS", PackedAFloats, 1024, 64 * 1024, 1 << 26);
    }

    private static int Override(string name, int value, int multiple, int min, int max)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        if (text is null || !int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int v)) return value;
        return Math.Clamp(v / multiple * multiple, min, max);
    }
}
