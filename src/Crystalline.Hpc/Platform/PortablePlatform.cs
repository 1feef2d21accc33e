using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace Crystalline.Hpc.Platform;

/// <summary>
/// The fallback back end: topology from what the runtime and POSIX sysconf know, no affinity, no NUMA
/// binding. Used on macOS and wherever the OS-specific back end cannot start.
/// </summary>
internal sealed class PortablePlatform : IPlatform
{
    private readonly List<string> _reasons;

    public PortablePlatform(IEnumerable<string> reasons)
    {
        _reasons = reasons.ToList();
        int n = Environment.ProcessorCount;
        long l1 = 0, l2 = 0, l3 = 0;
        if (!OperatingSystem.IsWindows() && TrySysconf(out long online, out l1, out l2, out l3))
        {
            // Environment.ProcessorCount is the CPUs this process may use; sysconf tells the machine's.
            if (online >= n) n = (int)online;
        }
        if (l1 == 0 && l2 == 0 && l3 == 0) _reasons.Add("cache sizes unknown to the portable back end (reported as 0)");
        var cpus = new LogicalCpu[n];
        // Without topology each logical CPU counts as its own core on one socket and node.
        for (int i = 0; i < n; i++) cpus[i] = new LogicalCpu(i, i, 0, 0);
        Topology = new CpuTopology(n, n, 1, 1, l1, l2, l3, cpus);
    }

    public string BackendName => "portable";
    public IReadOnlyList<string> FallbackReasons => _reasons;
    public CpuTopology Topology { get; }
    public bool SupportsAffinity => false;
    public string NumaAllocationPolicy => "none: 64-byte-aligned allocation, node ignored";

    public bool TryPinCurrentThread(int cpu, out string? error)
    {
        error = "thread affinity is not supported by the portable back end: " + string.Join("; ", _reasons);
        return false;
    }

    public bool TryPinCurrentThread(ReadOnlySpan<int> cpus, out string? error)
    {
        if (cpus.IsEmpty) throw new ArgumentException("at least one CPU is needed", nameof(cpus));
        foreach (int c in cpus) ArgumentOutOfRangeException.ThrowIfNegative(c, nameof(cpus));
        return TryPinCurrentThread(cpus[0], out error);
    }

    public int GetCurrentCpu() => -1;

    public int[] GetCurrentAffinity() => Enumerable.Range(0, Topology.LogicalCpuCount).ToArray();

    public int NumaNodeOfCpu(int cpu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        return 0;
    }

    public unsafe void* AllocateAligned(nuint bytes, int node)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(node, -1);
        return NativeMemory.AlignedAlloc(bytes == 0 ? 1 : bytes, 64);
    }

    public unsafe void FreeAligned(void* pointer, nuint bytes) => NativeMemory.AlignedFree(pointer);

    /// <summary>
    /// Online CPUs and cache sizes through Mono.Unix's sysconf: the runtime exposes neither, and
    /// sysconf is the one POSIX source that also works on the BSDs and (for the CPU count) macOS.
    /// </summary>
    private static bool TrySysconf(out long online, out long l1, out long l2, out long l3)
    {
        online = l1 = l2 = l3 = 0;
        try
        {
            online = Syscall.sysconf(SysconfName._SC_NPROCESSORS_ONLN);
            l1 = Math.Max(0, Syscall.sysconf(SysconfName._SC_LEVEL1_DCACHE_SIZE));
            l2 = Math.Max(0, Syscall.sysconf(SysconfName._SC_LEVEL2_CACHE_SIZE));
            l3 = Math.Max(0, Syscall.sysconf(SysconfName._SC_LEVEL3_CACHE_SIZE));
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or ArgumentException)
        {
            // Mono.Unix's native shim is not shipped for every OS; the runtime's count still works.
            return false;
        }
    }
}
