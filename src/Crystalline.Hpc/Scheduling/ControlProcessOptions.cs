namespace Crystalline.Hpc.Scheduling;

/// <summary>Settings of a <see cref="ControlProcess"/>. Checked when the control process is built.</summary>
public sealed class ControlProcessOptions
{
    /// <summary>Physical worker threads (1 … 4096). Default: <see cref="Environment.ProcessorCount"/>.</summary>
    public int WorkerCount { get; set; } = Environment.ProcessorCount;

    /// <summary>Hierarchy depth d (0 … 4): an epoch runs 12^d leaf spheres. Default 1 (the 12 spheres).</summary>
    public int HierarchyDepth { get; set; } = 1;

    /// <summary>How the 12 symmetry groups (and so the leaf spheres) are dealt to the workers when there are fewer
    /// than 12 (see <see cref="ThreadAllocationStrategy"/>). Default <see cref="ThreadAllocationStrategy.RoundRobin"/>, LATTICE_MATH.md's.</summary>
    public ThreadAllocationStrategy AllocationStrategy { get; set; } = ThreadAllocationStrategy.RoundRobin;

    /// <summary>Let idle workers steal whole sphere work items from busy ones. Default true.</summary>
    public bool EnableWorkStealing { get; set; } = true;

    /// <summary>
    /// The thread that calls RunEpoch/RunParallel acts as worker 0 (as OpenMP's master thread does), so
    /// N workers take N threads, not N + 1 with one of them idle. Default true. Worker 0 is then not
    /// pinned (it is the caller's thread) and <see cref="WorkerPlacement.PinError"/> says so.
    /// </summary>
    public bool UseCallingThread { get; set; } = true;

    /// <summary>Pin worker w to the w-th CPU of the process's affinity mask (wrapping). Default true;
    /// when the platform refuses, the worker runs unpinned and <see cref="WorkerPlacement.PinError"/> says why.</summary>
    public bool PinThreads { get; set; } = true;

    /// <summary>How long a waiting thread spins before it blocks, in spin rounds (~0.3 µs each; 0 blocks at once). Default 2000.</summary>
    public int SpinRounds { get; set; } = 2000;

    /// <summary>NUMA-local scratch memory per worker, in bytes (0 … 1 GiB), allocated by the worker on its own node. Default 256 KiB.</summary>
    public int WorkingMemoryBytesPerWorker { get; set; } = 256 * 1024;

    /// <summary>Chunks each worker's share of a <see cref="ISphereExecutor.RunParallel"/> call is cut into
    /// when stealing is on (1 … 64); more chunks balance better and cost more synchronisation. Default 32.</summary>
    /// <remarks>A worker that runs out of work waits, at worst, for the last chunk another worker took, so a
    /// chunk is the granularity of the balance. At 8 the trainer's optimizer pass (3.5 GB of memory traffic per
    /// step at gpt2-124M, cut into 16 chunks on 2 workers) ended with one worker 10–15 ms behind the other;
    /// at 32 the gap is 2–3 ms (docs/training.md, sixth session). Calls with fewer items than this are unaffected.</remarks>
    public int ParallelChunksPerWorker { get; set; } = 32;

    /// <summary>Messages each sphere's mailbox holds (0 … 2^20; rounded up to a power of two; 0: no messaging). Default 16.</summary>
    public int MailboxCapacity { get; set; } = 16;

    /// <summary>
    /// Limits within which spheres spawn on demand (<see cref="ControlProcess.RequestSpawn"/>): depth, thread quota
    /// (leaves per thread) and memory quota (bytes per sphere, total). Null (default): depth 4 (or the initial
    /// depth if deeper), <see cref="WorkerCount"/> threads of max(12^d, 1728) leaves each, no memory quota.
    /// The initial tree of <see cref="HierarchyDepth"/> must fit them.
    /// </summary>
    public SphereHierarchyLimits? HierarchyLimits { get; set; }

    /// <summary>
    /// Collect busy, idle and sync times in <see cref="ControlProcess.Statistics"/> (two clock reads per work
    /// item, which doubled a 12-item epoch in EpochBenchmarks; the counts are kept either way). Default false: a profiling switch, since for epochs of
    /// short items the clock reads cost as much as the fork-join itself. Turn it on where the times are shown.
    /// </summary>
    public bool CollectTimings { get; set; }

    internal void Validate()
    {
        if (WorkerCount is < 1 or > 4096) throw new ArgumentOutOfRangeException(nameof(WorkerCount), WorkerCount, "worker count must be 1 … 4096");
        if (HierarchyDepth is < 0 or > 4) throw new ArgumentOutOfRangeException(nameof(HierarchyDepth), HierarchyDepth, "hierarchy depth must be 0 … 4");
        if (!Enum.IsDefined(AllocationStrategy)) throw new ArgumentOutOfRangeException(nameof(AllocationStrategy), AllocationStrategy, "unknown thread allocation strategy");
        if (SpinRounds < 0) throw new ArgumentOutOfRangeException(nameof(SpinRounds), SpinRounds, "spin rounds must be ≥ 0");
        if (WorkingMemoryBytesPerWorker is < 0 or > (1 << 30)) throw new ArgumentOutOfRangeException(nameof(WorkingMemoryBytesPerWorker), WorkingMemoryBytesPerWorker, "working memory must be 0 … 1 GiB");
        if (MailboxCapacity is < 0 or > (1 << 20)) throw new ArgumentOutOfRangeException(nameof(MailboxCapacity), MailboxCapacity, "mailbox capacity must be 0 … 2^20");
        HierarchyLimits?.Validate();
        if (ParallelChunksPerWorker is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(ParallelChunksPerWorker), ParallelChunksPerWorker, "chunks per worker must be 1 … 64");
    }

    internal ControlProcessOptions Clone()
    {
        var copy = (ControlProcessOptions)MemberwiseClone();
        copy.HierarchyLimits = HierarchyLimits?.Clone();
        return copy;
    }
}

/// <summary>Where a worker thread runs.</summary>
/// <param name="Worker">Worker index.</param>
/// <param name="Cpu">The logical CPU it was meant for (its pin target).</param>
/// <param name="Pinned">True when the platform pinned it there.</param>
/// <param name="PinError">Why pinning was not done or refused; null when pinned.</param>
/// <param name="NumaNode">The NUMA node of <paramref name="Cpu"/>; its working memory was asked for there.</param>
public readonly record struct WorkerPlacement(int Worker, int Cpu, bool Pinned, string? PinError, int NumaNode);
