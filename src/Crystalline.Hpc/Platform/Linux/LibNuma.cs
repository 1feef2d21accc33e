using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Platform.Linux;

/// <summary>
/// libnuma, bound lazily through <see cref="NativeLibrary"/> so that a machine without it still runs:
/// the library is optional (not every distribution installs it) and linking it statically through
/// LibraryImport would turn its absence into a crash on first call instead of a reported fallback.
/// </summary>
internal sealed unsafe class LibNuma
{
    public const string DefaultName = "libnuma.so.1";

    private readonly delegate* unmanaged<int> _available;
    private readonly delegate* unmanaged<nuint, int, void*> _allocOnNode;
    private readonly delegate* unmanaged<void*, nuint, void> _free;
    private readonly delegate* unmanaged<int, int> _nodeOfCpu;
    private readonly delegate* unmanaged<int> _maxNode;

    private LibNuma(nint handle)
    {
        _available = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "numa_available");
        _allocOnNode = (delegate* unmanaged<nuint, int, void*>)NativeLibrary.GetExport(handle, "numa_alloc_onnode");
        _free = (delegate* unmanaged<void*, nuint, void>)NativeLibrary.GetExport(handle, "numa_free");
        _nodeOfCpu = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(handle, "numa_node_of_cpu");
        _maxNode = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "numa_max_node");
    }

    /// <summary>Loads <paramref name="libraryName"/>; null with the reason when it is absent, incomplete or reports NUMA unavailable.</summary>
    public static LibNuma? TryLoad(string libraryName, out string? reason)
    {
        if (!NativeLibrary.TryLoad(libraryName, out nint handle))
        {
            reason = $"{libraryName} not found (install the libnuma1 package for NUMA-local allocation)";
            return null;
        }
        LibNuma numa;
        try
        {
            numa = new LibNuma(handle);
        }
        catch (EntryPointNotFoundException e)
        {
            reason = $"{libraryName} lacks an expected export: {e.Message}";
            return null;
        }
        // numa_available() must be called before any other libnuma function; -1 means the kernel has no NUMA support.
        if (numa._available() < 0)
        {
            reason = $"{libraryName} loaded but numa_available() returned -1 (kernel without NUMA support)";
            return null;
        }
        reason = null;
        return numa;
    }

    /// <summary>Highest node number the kernel knows.</summary>
    public int MaxNode => _maxNode();

    /// <summary>Page-aligned memory bound to <paramref name="node"/>; null on failure.</summary>
    public void* AllocOnNode(nuint bytes, int node) => _allocOnNode(bytes, node);

    public void Free(void* pointer, nuint bytes) => _free(pointer, bytes);

    /// <summary>Node of a CPU, or -1 when the CPU is invalid.</summary>
    public int NodeOfCpu(int cpu) => _nodeOfCpu(cpu);
}
