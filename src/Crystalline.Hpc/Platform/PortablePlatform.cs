using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Platform;

/// <summary>
/// The fallback back end: topology from what the runtime knows, no affinity, no NUMA binding.
/// Used on macOS and wherever the OS-specific back end cannot start.
/// </summary>
internal sealed class PortablePlatform : IPlatform
{
    private readonly List<string> _reasons;

    public PortablePlatform(IEnumerable<string> reasons)
    {
        _reasons = reasons.ToList();
        int n = Environment.ProcessorCount;
        var cpus = new LogicalCpu[n];
        for (int i = 0; i < n; i++) cpus[i] = new LogicalCpu(i, i, 0, 0);
        Topology = new CpuTopology(n, n, 1, 1, 48 * 1024, 1024 * 1024, 32L * 1024 * 1024, cpus);
    }

    public string BackendName => "portable";
    public IReadOnlyList<string> FallbackReasons => _reasons;
    public CpuTopology Topology { get; }
    public bool SupportsAffinity => false;

    public bool TryPinCurrentThread(int cpu, out string? error)
    {
        error = "thread affinity is not supported by the portable back end: " + string.Join("; ", _reasons);
        return false;
    }

    public bool TryPinCurrentThread(ReadOnlySpan<int> cpus, out string? error) => TryPinCurrentThread(-1, out error);

    public int GetCurrentCpu() => -1;

    public int[] GetCurrentAffinity() => Enumerable.Range(0, Topology.LogicalCpuCount).ToArray();

    public int NumaNodeOfCpu(int cpu) => 0;

    public unsafe void* AllocateAligned(nuint bytes, int node) => NativeMemory.AlignedAlloc(bytes == 0 ? 1 : bytes, 64);

    public unsafe void FreeAligned(void* pointer, nuint bytes) => NativeMemory.AlignedFree(pointer);
}
