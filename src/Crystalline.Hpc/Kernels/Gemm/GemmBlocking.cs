using Crystalline.Hpc.Platform;

namespace Crystalline.Hpc.Kernels.Gemm;

/// <summary>
/// Cache blocking, fixed once per process from the platform's cache sizes (never from the thread
/// count, so the summation order, hence the result, is the same for any number of workers).
/// </summary>
/// <remarks>
/// The micro-kernel keeps one packed A micro-panel (MR×KC) in L1 while it streams the packed B block
/// (KC×NC) from L2, so KC is bounded by L1 and KC·NC by about half of L2. The packed A block (MC×KC) is
/// read once per B block; it only has to stay in the outer caches.
/// </remarks>
internal static class GemmBlocking
{
    /// <summary>Depth of one rank-KC update (the k extent of a packed panel).</summary>
    public static int KC { get; }

    /// <summary>Columns of B packed per block (a multiple of every kernel's NR).</summary>
    public static int NC { get; }

    /// <summary>Rows of A packed per block (a multiple of every kernel's MR).</summary>
    public static int MC { get; }

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
        MC = 1536; // 256 micro-panels of 6 rows; 1.5 MB packed at KC=256

        // Tuning overrides (benchmarks): CRYSTALLINE_GEMM_KC / _NC / _MC, rounded to legal values.
        KC = Override("CRYSTALLINE_GEMM_KC", KC, 16, 16, 2048);
        NC = Override("CRYSTALLINE_GEMM_NC", NC, MaxNR, MaxNR, 16384);
        MC = Override("CRYSTALLINE_GEMM_MC", MC, 12 * MaxMR, 12 * MaxMR, 12288);
    }

    private static int Override(string name, int value, int multiple, int min, int max)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        if (text is null || !int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int v)) return value;
        return Math.Clamp(v / multiple * multiple, min, max);
    }
}
