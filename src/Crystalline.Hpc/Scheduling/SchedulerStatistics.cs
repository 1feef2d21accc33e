using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Scheduling;

/// <summary>A snapshot of one sphere's or one worker's counters.</summary>
/// <param name="WorkItems">Work items run (spheres: times this sphere ran; workers: items this worker ran).</param>
/// <param name="StealsGiven">Transfers away from the home worker: for a sphere, each time its work item
/// moved to another worker (a thief claiming its home worker's share, or stealing it from a deque; an
/// item claimed and then stolen again counts twice); for a worker, items thieves took from it.</param>
/// <param name="StealsTaken">Workers: items this worker stole. Spheres: 0.</param>
/// <param name="MessagesSent">Messages this sphere sent (workers: 0).</param>
/// <param name="MessagesReceived">Messages this sphere received (workers: 0).</param>
/// <param name="BoundaryCrossings">144000-boundary crossings reported by the sphere's work.</param>
/// <param name="Busy">Time spent running work items.</param>
/// <param name="Idle">Workers: time waiting for the next epoch (spinning or blocked). Spheres: zero.</param>
/// <param name="Sync">Workers: time from running out of local work until the epoch's end (stealing, waiting for others). Spheres: zero.</param>
public readonly record struct SphereCounters(
    long WorkItems,
    long StealsGiven,
    long StealsTaken,
    long MessagesSent,
    long MessagesReceived,
    long BoundaryCrossings,
    TimeSpan Busy,
    TimeSpan Idle,
    TimeSpan Sync);

/// <summary>
/// Per-sphere and per-worker counters of a <see cref="ControlProcess"/>. Each counter block is one
/// 128-byte-aligned pair of cache lines in native memory, so counting never shares a line (or a pair the
/// prefetchers fetch together) between workers. Counters with several writers (steals given, messages, boundary crossings) are updated with
/// Interlocked; counters with one writer (a worker's own items and times, a sphere's items, which one
/// worker runs per epoch) with plain aligned 64-bit stores. Every read is of a whole value; reading
/// while an epoch runs gives a consistent value per counter, not across counters.
/// </summary>
public sealed class SchedulerStatistics
{
    [StructLayout(LayoutKind.Sequential, Size = 128)]
    internal struct Block
    {
        public long WorkItems;
        public long StealsGiven;
        public long StealsTaken;
        public long MessagesSent;
        public long MessagesReceived;
        public long BoundaryCrossings;
        public long BusyTicks;
        public long IdleTicks;
        public long SyncTicks;
    }

    private AlignedBuffer<Block> _spheres;
    private readonly AlignedBuffer<Block> _workers;

    internal SchedulerStatistics(int sphereCount, int workerCount)
    {
        SphereCount = sphereCount;
        WorkerCount = workerCount;
        _spheres = new AlignedBuffer<Block>(sphereCount + 1);
        _workers = new AlignedBuffer<Block>(workerCount + 1);
    }

    /// <summary>Leaf spheres counted (changes when the control process's hierarchy changes shape).</summary>
    public int SphereCount { get; private set; }

    /// <summary>Workers counted.</summary>
    public int WorkerCount { get; }

    internal unsafe ref Block SphereBlock(int sphere) => ref SphereBlocks[sphere];

    internal unsafe ref Block WorkerBlock(int worker) => ref WorkerBlocks[worker];

    /// <summary>The sphere blocks' memory, for a hot path that outlives no <see cref="Release"/>.</summary>
    internal unsafe Block* SphereBlocks => LinePairs.AlignUp(_spheres.Pointer);

    /// <summary>The worker blocks' memory, for a hot path that outlives no <see cref="Release"/>.</summary>
    // Blocks start on a 128-byte boundary (the buffers hold one spare block for it), so each block is a
    // whole pair of lines (see LinePairs) and never shares one with a neighbour written by another worker.
    internal unsafe Block* WorkerBlocks => LinePairs.AlignUp(_workers.Pointer);

    /// <summary>The counters of leaf sphere <paramref name="sphere"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">sphere outside 0 … SphereCount−1.</exception>
    public SphereCounters Sphere(int sphere)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sphere);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sphere, SphereCount);
        return Read(ref SphereBlock(sphere));
    }

    /// <summary>The counters of worker <paramref name="worker"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">worker outside 0 … WorkerCount−1.</exception>
    public SphereCounters Worker(int worker)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(worker);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(worker, WorkerCount);
        return Read(ref WorkerBlock(worker));
    }

    /// <summary>The sum over leaf spheres <paramref name="first"/> … first+count−1 (a subtree's leaves).</summary>
    public SphereCounters SumOfSpheres(int first, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)first + count > SphereCount) throw new ArgumentOutOfRangeException(nameof(count), "range runs past the last sphere");
        var sum = default(SphereCounters);
        for (int s = first; s < first + count; s++) sum = Add(sum, Sphere(s));
        return sum;
    }

    /// <summary>The sum over all workers.</summary>
    public SphereCounters WorkerTotals()
    {
        var sum = default(SphereCounters);
        for (int w = 0; w < WorkerCount; w++) sum = Add(sum, Worker(w));
        return sum;
    }

    /// <summary>Sets every counter to zero. Call only between epochs.</summary>
    public void Reset()
    {
        _spheres.Span.Clear();
        _workers.Span.Clear();
    }

    /// <summary>A fixed-width table: one row per worker, then one row per leaf sphere (at most <paramref name="maxSphereRows"/>), then totals.</summary>
    public string ToTable(int maxSphereRows = 144)
    {
        var sb = new StringBuilder();
        const string header = "{0,-12} {1,12} {2,8} {3,8} {4,8} {5,8} {6,8} {7,12} {8,12} {9,12}";
        sb.AppendLine(string.Format(CultureInfo.InvariantCulture, header, "", "items", "st.given", "st.taken", "msg.sent", "msg.recv", "boundary", "busy ms", "idle ms", "sync ms"));
        for (int w = 0; w < WorkerCount; w++) AppendRow(sb, "worker " + w.ToString(CultureInfo.InvariantCulture), Worker(w));
        int rows = Math.Min(SphereCount, Math.Max(0, maxSphereRows));
        for (int s = 0; s < rows; s++) AppendRow(sb, "sphere " + s.ToString(CultureInfo.InvariantCulture), Sphere(s));
        if (rows < SphereCount) sb.AppendLine(string.Format(CultureInfo.InvariantCulture, "  … {0} more spheres", SphereCount - rows));
        AppendRow(sb, "workers Σ", WorkerTotals());
        AppendRow(sb, "spheres Σ", SumOfSpheres(0, SphereCount));
        return sb.ToString();
    }

    private static void AppendRow(StringBuilder sb, string name, SphereCounters c)
    {
        sb.AppendLine(string.Format(CultureInfo.InvariantCulture, "{0,-12} {1,12} {2,8} {3,8} {4,8} {5,8} {6,8} {7,12:0.000} {8,12:0.000} {9,12:0.000}",
            name, c.WorkItems, c.StealsGiven, c.StealsTaken, c.MessagesSent, c.MessagesReceived, c.BoundaryCrossings,
            c.Busy.TotalMilliseconds, c.Idle.TotalMilliseconds, c.Sync.TotalMilliseconds));
    }

    private static SphereCounters Read(ref Block b) => new(
        Volatile.Read(ref b.WorkItems), Volatile.Read(ref b.StealsGiven), Volatile.Read(ref b.StealsTaken),
        Volatile.Read(ref b.MessagesSent), Volatile.Read(ref b.MessagesReceived), Volatile.Read(ref b.BoundaryCrossings),
        Stopwatch.GetElapsedTime(0, Volatile.Read(ref b.BusyTicks)), Stopwatch.GetElapsedTime(0, Volatile.Read(ref b.IdleTicks)),
        Stopwatch.GetElapsedTime(0, Volatile.Read(ref b.SyncTicks)));

    private static SphereCounters Add(SphereCounters a, SphereCounters b) => new(
        a.WorkItems + b.WorkItems, a.StealsGiven + b.StealsGiven, a.StealsTaken + b.StealsTaken,
        a.MessagesSent + b.MessagesSent, a.MessagesReceived + b.MessagesReceived, a.BoundaryCrossings + b.BoundaryCrossings,
        a.Busy + b.Busy, a.Idle + b.Idle, a.Sync + b.Sync);

    // Owned by the control process, which frees it after joining its workers; not disposable by users,
    // who could otherwise free memory that workers still write to.
    // A reshape: new, zeroed counters for the new leaves (leaf indices now name other spheres).
    internal void ResizeSpheres(int sphereCount)
    {
        AlignedBuffer<Block> old = _spheres;
        _spheres = new AlignedBuffer<Block>(sphereCount + 1);
        SphereCount = sphereCount;
        old.Dispose();
    }

    internal void Release()
    {
        _spheres.Dispose();
        _workers.Dispose();
    }
}
