using System.Diagnostics;
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

/// <summary>The fork-join calls of a training step, for <see cref="StepProfile"/>'s balance accounting.</summary>
internal enum StepRegion
{
    /// <summary>The epoch path: one epoch of whole spheres (forward and backward).</summary>
    Epoch,
    /// <summary>Lockstep: a stage over the spheres.</summary>
    Stage,
    /// <summary>Lockstep: a product over column blocks of a weight.</summary>
    Product,
    /// <summary>The fused weight-gradient pass.</summary>
    WeightGradients,
    /// <summary>The tree reduction of the remaining gradients (and the norm's squares).</summary>
    Reduction,
    /// <summary>The AdamW update.</summary>
    Optimizer,
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
    private static readonly int s_regionCount = Enum.GetValues<StepRegion>().Length;
    // Per region: calls, wall ticks, Σ over calls of the busiest worker's item time, Σ of all workers' item time.
    private static readonly long[] s_regionCalls = new long[s_regionCount], s_regionWall = new long[s_regionCount],
        s_regionBusiest = new long[s_regionCount], s_regionBusy = new long[s_regionCount];
    // Per worker: wall ticks in items of the region in flight.
    private static readonly long[] s_itemTicks = new long[MaxWorkers];

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

    /// <summary>Marks the start of a fork-join call on <paramref name="workers"/> workers (control thread, before it forks):
    /// Stopwatch ticks, or 0 when profiling is off.</summary>
    public static long RegionStart(int workers)
    {
        if (!Enabled) return 0;
        Array.Clear(s_itemTicks, 0, Math.Min(workers, MaxWorkers));
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Marks the start of one item of a region (Stopwatch ticks, or 0 when off).</summary>
    public static long ItemStart() => Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Adds the wall time since <paramref name="mark"/> to worker <paramref name="worker"/>'s share of the region in flight.</summary>
    public static void ItemEnd(int worker, long mark)
    {
        if (mark == 0 || (uint)worker >= MaxWorkers) return;
        Interlocked.Add(ref s_itemTicks[worker], Stopwatch.GetTimestamp() - mark);
    }

    /// <summary>Ends a fork-join call begun with <see cref="RegionStart"/> (control thread, after the join): its wall time,
    /// its busiest worker's item time and all workers' item time are added to <paramref name="region"/>.</summary>
    public static void RegionEnd(StepRegion region, long mark, int workers)
    {
        if (mark == 0) return;
        long wall = Stopwatch.GetTimestamp() - mark, busiest = 0, busy = 0;
        for (int w = 0; w < Math.Min(workers, MaxWorkers); w++)
        {
            long t = Volatile.Read(ref s_itemTicks[w]);
            busiest = Math.Max(busiest, t);
            busy += t;
        }
        int r = (int)region;
        s_regionCalls[r]++;
        s_regionWall[r] += wall;
        s_regionBusiest[r] += busiest;
        s_regionBusy[r] += busy;
    }

    /// <summary>Per region since the last <see cref="Reset"/>: calls, wall, busiest-worker and summed item time (milliseconds).</summary>
    public static (long Calls, double WallMs, double BusiestMs, double BusyMs) Region(StepRegion region)
    {
        int r = (int)region;
        double f = 1000.0 / Stopwatch.Frequency;
        return (s_regionCalls[r], s_regionWall[r] * f, s_regionBusiest[r] * f, s_regionBusy[r] * f);
    }

    public static void Reset()
    {
        for (int i = 0; i < s_ns.Length; i++) Volatile.Write(ref s_ns[i], 0);
        for (int i = 0; i < MaxWorkers; i++) Volatile.Write(ref s_workerNs[i], 0);
        Array.Clear(s_regionCalls);
        Array.Clear(s_regionWall);
        Array.Clear(s_regionBusiest);
        Array.Clear(s_regionBusy);
    }
}
