namespace Crystalline.Hpc.Platform;

/// <summary>What the machine looks like: CPUs, cores, sockets, NUMA nodes and cache sizes.</summary>
/// <param name="LogicalCpuCount">Logical CPUs (hardware threads) online on the machine; the process may be allowed fewer (see <see cref="IPlatform.GetCurrentAffinity"/>).</param>
/// <param name="PhysicalCoreCount">Physical cores.</param>
/// <param name="SocketCount">Sockets (packages).</param>
/// <param name="NumaNodeCount">NUMA nodes (1 when the machine has no NUMA or it is unknown).</param>
/// <param name="L1DataBytes">L1 data cache per core, in bytes (0 when unknown).</param>
/// <param name="L2Bytes">L2 cache per core, in bytes (0 when unknown).</param>
/// <param name="L3Bytes">L3 cache (shared), in bytes (0 when unknown).</param>
/// <param name="Cpus">One entry per logical CPU, ordered by CPU id.</param>
public sealed record CpuTopology(
    int LogicalCpuCount,
    int PhysicalCoreCount,
    int SocketCount,
    int NumaNodeCount,
    long L1DataBytes,
    long L2Bytes,
    long L3Bytes,
    IReadOnlyList<LogicalCpu> Cpus);

/// <summary>One logical CPU and where it sits.</summary>
/// <param name="CpuId">The OS number of the CPU (what affinity calls take).</param>
/// <param name="CoreId">Machine-wide physical core index: dense, 0-based, numbered in order of each core's first CPU.</param>
/// <param name="SocketId">The package's OS number.</param>
/// <param name="NumaNode">The NUMA node's OS number.</param>
public readonly record struct LogicalCpu(int CpuId, int CoreId, int SocketId, int NumaNode);

/// <summary>
/// Topology, thread affinity and NUMA behind one interface. Implementations never throw for a
/// missing capability: they report it (<see cref="SupportsAffinity"/>, <see cref="FallbackReasons"/>).
/// </summary>
public interface IPlatform
{
    /// <summary>Name of the back end in use, e.g. "linux-native(hwloc)", "linux-sysfs", "windows", "portable".</summary>
    string BackendName { get; }

    /// <summary>Why a richer back end or capability was not used (empty when nothing fell back).</summary>
    IReadOnlyList<string> FallbackReasons { get; }

    /// <summary>The machine's topology (read once, cached).</summary>
    CpuTopology Topology { get; }

    /// <summary>True when threads can be pinned here.</summary>
    bool SupportsAffinity { get; }

    /// <summary>Pins the calling thread to one logical CPU. False (with the reason) when refused or unsupported.</summary>
    bool TryPinCurrentThread(int cpu, out string? error);

    /// <summary>Pins the calling thread to a set of logical CPUs (the thread may run on any of them).</summary>
    /// <exception cref="ArgumentException"><paramref name="cpus"/> is empty or holds a negative id.</exception>
    bool TryPinCurrentThread(ReadOnlySpan<int> cpus, out string? error);

    /// <summary>The logical CPU the calling thread runs on now, or -1 when unknown.</summary>
    int GetCurrentCpu();

    /// <summary>The CPUs the calling thread may run on (its affinity mask), or all CPUs when unknown.</summary>
    int[] GetCurrentAffinity();

    /// <summary>The NUMA node of a logical CPU (0 when unknown).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cpu"/> is negative.</exception>
    int NumaNodeOfCpu(int cpu);

    /// <summary>
    /// Allocates <paramref name="bytes"/> of 64-byte-aligned native memory, on NUMA node
    /// <paramref name="node"/> when it is ≥ 0 and NUMA binding is available (else first touch by the caller).
    /// Free it with <see cref="FreeAligned"/> of the same platform instance. Null when out of memory.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="node"/> is below −1 or not a node of this machine.</exception>
    unsafe void* AllocateAligned(nuint bytes, int node);

    /// <summary>Frees memory from <see cref="AllocateAligned"/>.</summary>
    unsafe void FreeAligned(void* pointer, nuint bytes);

    /// <summary>How <see cref="AllocateAligned"/> places memory on a NUMA node here (libnuma, first touch, none).</summary>
    string NumaAllocationPolicy => "not reported by this back end";
}
