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
    /// KC of the bf16 kernel, in k values (a multiple of 16, so slices hold whole pairs). Its panels take
    /// half the bytes per k, and the tile's fixed costs (loading and storing 6×64 of C, the native call)
    /// are paid per slice, so it runs deeper slices than fp32.
    /// </summary>
    public static int KCBf16 { get; }

    /// <summary>NC of the bf16 kernel: its packed B block (KCBf16/2 words × NC) about half of L2, as fp32's.</summary>
    public static int NCBf16 { get; }

    /// <summary>KC of the kernels at <paramref name="precision"/>.</summary>
    public static int Depth(GemmPrecision precision) => precision == GemmPrecision.Bf16 ? KCBf16 : KC;

    /// <summary>NC of the kernels at <paramref name="precision"/>.</summary>
    public static int Columns(GemmPrecision precision) => precision == GemmPrecision.Bf16 ? NCBf16 : NC;

    /// <summary>Floats of the per-thread packed-B scratch: the larger block of the two precisions.</summary>
    public static long PackedBFloats => Math.Max((long)NC * KC, (long)NCBf16 * (KCBf16 / 2));

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

        // bf16: five times fp32's KC (800 on the development VM; its A micro-panel is then 2.5× fp32's in
        // bytes, still under a third of L1). Measured there with CRYSTALLINE_GEMM_KC_BF16 and `gemm --kernel
        // bf16`: 64-row GEMMs at 800 ran 0–10% faster than at 320 or 640, and gpt2-124M training steps
        // 10–20% faster than at 160 (the tile's fixed costs, C traffic and the native call, per slice).
        KCBf16 = Math.Clamp(KC * 5 / 16 * 16, 64, 2048);
        long ncBf16 = l2 / 2 / ((long)KCBf16 / 2 * sizeof(uint));
        NCBf16 = (int)Math.Clamp(ncBf16 / MaxNR * MaxNR, MaxNR, 4096);

        // Tuning overrides (benchmarks): CRYSTALLINE_GEMM_KC / _NC / _KC_BF16 / _NC_BF16 / _AFLOATS, rounded to legal values.
        KC = Override("CRYSTALLINE_GEMM_KC", KC, 16, 16, 2048);
        NC = Override("CRYSTALLINE_GEMM_NC", NC, MaxNR, MaxNR, 16384);
        KCBf16 = Override("CRYSTALLINE_GEMM_KC_BF16", KCBf16, 16, 16, 4096);
        NCBf16 = Override("CRYSTALLINE_GEMM_NC_BF16", NCBf16, MaxNR, MaxNR, 16384);
        PackedAFloats = Override("CRYSTALLINE_GEMM_AFLOATS", PackedAFloats, 1024, 64 * 1024, 1 << 26);
    }

    private static int Override(string name, int value, int multiple, int min, int max)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        if (text is null || !int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int v)) return value;
        return Math.Clamp(v / multiple * multiple, min, max);
    }
}
