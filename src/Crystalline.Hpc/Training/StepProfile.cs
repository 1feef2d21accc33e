using Crystalline.Hpc.Platform;

namespace Crystalline.Hpc.Training;

/// <summary>Kernel phases of a training step, for <see cref="StepProfile"/>.</summary>
internal enum StepPhase
{
    Embedding, LayerNorm, Residual, Gelu, Attention, SoftmaxCe,
    QkvForward, AttProjForward, FcForward, FcProjForward, LmHeadForward,
    QkvBackward, AttProjBackward, FcBackward, FcProjBackward, LmHeadBackward,
    GradientZeroing, ScratchClear, Reduction, Optimizer, WeightPacking, WeightGradients,
}

/// <summary>
/// Optional per-phase CPU-time accounting of the training step (bench only; off by default). Each
/// phase's time is the thread CPU time (Linux CLOCK_THREAD_CPUTIME_ID) of the thread that ran it,
/// summed over threads: on a machine shared with other busy processes it counts what this process
/// actually ran, not the slices the scheduler gave to others. Where the clock is unavailable every
/// phase reads 0.
/// </summary>
internal static partial class StepProfile
{
    /// <summary>Workers tracked by <see cref="ChargeWorker"/> (higher indices are not counted).</summary>
    public const int MaxWorkers = 256;
    private static readonly long[] s_ns = new long[Enum.GetValues<StepPhase>().Length];
    private static readonly long[] s_workerNs = new long[MaxWorkers];
    private static readonly bool s_available = ThreadClock.Available;

    /// <summary>When false (default) <see cref="Start"/> and <see cref="Lap"/> cost one branch.</summary>
    public static bool Enabled { get; set; }

    private static long NowNs() => ThreadClock.NowNanoseconds();

    /// <summary>Thread CPU time now (ns), or 0 when profiling is off.</summary>
    public static long Start() => Enabled && s_available ? NowNs() : 0;

    /// <summary>Charges the CPU time since <paramref name="mark"/> to <paramref name="phase"/> and moves the mark to now.</summary>
    public static void Lap(StepPhase phase, ref long mark)
    {
        if (!Enabled || !s_available) return;
        long now = NowNs();
        Interlocked.Add(ref s_ns[(int)phase], now - mark);
        mark = now;
    }

    /// <summary>
    /// Charges the CPU time since <paramref name="mark"/> to worker <paramref name="worker"/>'s total
    /// (the busy CPU time of each worker: its maximum is the step's critical path in CPU time).
    /// </summary>
    public static void ChargeWorker(int worker, long mark)
    {
        if (!Enabled || !s_available || (uint)worker >= MaxWorkers) return;
        Interlocked.Add(ref s_workerNs[worker], NowNs() - mark);
    }

    /// <summary>Accumulated busy CPU nanoseconds per worker index.</summary>
    public static void ReadWorkers(Span<long> destination)
    {
        for (int i = 0; i < destination.Length && i < MaxWorkers; i++) destination[i] = Volatile.Read(ref s_workerNs[i]);
    }

    /// <summary>Accumulated CPU nanoseconds per phase (indexed by <see cref="StepPhase"/>).</summary>
    public static void Read(Span<long> destination)
    {
        for (int i = 0; i < s_ns.Length; i++) destination[i] = Volatile.Read(ref s_ns[i]);
    }

    public static int PhaseCount => s_ns.Length;

    public static void Reset()
    {
        for (int i = 0; i < s_ns.Length; i++) Volatile.Write(ref s_ns[i], 0);
        for (int i = 0; i < MaxWorkers; i++) Volatile.Write(ref s_workerNs[i], 0);
    }
}
