using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Platform.Linux;

/// <summary>
/// libcrystalline_native (built from native/ by CMake): topology through hwloc when it was built
/// with it, else through /sys; thread binding. Optional: <see cref="TryOpen"/> says why it is unusable.
/// </summary>
internal static unsafe partial class NativeHelper
{
    public const string LibraryName = "crystalline_native";
    public const int ExpectedApiVersion = 1;

    [LibraryImport(LibraryName, EntryPoint = "cn_api_version")]
    private static partial int ApiVersion();

    [LibraryImport(LibraryName, EntryPoint = "cn_backend")]
    private static partial byte* BackendPtr();

    [LibraryImport(LibraryName, EntryPoint = "cn_init")]
    private static partial int Init();

    [LibraryImport(LibraryName, EntryPoint = "cn_logical_cpu_count")]
    private static partial int LogicalCpuCount();

    [LibraryImport(LibraryName, EntryPoint = "cn_physical_core_count")]
    private static partial int PhysicalCoreCount();

    [LibraryImport(LibraryName, EntryPoint = "cn_socket_count")]
    private static partial int SocketCount();

    [LibraryImport(LibraryName, EntryPoint = "cn_numa_node_count")]
    private static partial int NumaNodeCount();

    [LibraryImport(LibraryName, EntryPoint = "cn_cache_bytes")]
    private static partial long CacheBytes(int level);

    [LibraryImport(LibraryName, EntryPoint = "cn_cpu_info")]
    private static partial int CpuInfo(int index, int* cpuId, int* coreIndex, int* socketId, int* numaNode);

    /// <summary>Pins the calling thread to one CPU; 0 or an errno value.</summary>
    [LibraryImport(LibraryName, EntryPoint = "cn_bind_current_thread")]
    public static partial int BindCurrentThread(int cpu);

    /// <summary>The CPU the calling thread runs on, or -1.</summary>
    [LibraryImport(LibraryName, EntryPoint = "cn_current_cpu")]
    public static partial int CurrentCpu();

    /// <summary>NUMA node of a CPU, or -1 for an unknown CPU.</summary>
    [LibraryImport(LibraryName, EntryPoint = "cn_numa_node_of_cpu")]
    public static partial int NumaNodeOfCpu(int cpu);

    /// <summary>"hwloc" or "sysfs": how the library was built.</summary>
    public static string Backend => Marshal.PtrToStringUTF8((nint)BackendPtr()) ?? "unknown";

    /// <summary>
    /// Checks that <paramref name="probeName"/> loads (the same search LibraryImport does: the
    /// application directory, then the system) and answers; false with the reason otherwise.
    /// A probe name other than <see cref="LibraryName"/> only serves tests that simulate absence.
    /// </summary>
    public static bool TryOpen(string probeName, out string? reason)
    {
        if (!TryLoad(probeName, out _, out reason)) return false;
        if (probeName != LibraryName)
        {
            reason = $"{probeName} is not the helper library";
            return false;
        }
        try
        {
            int version = ApiVersion();
            if (version != ExpectedApiVersion)
            {
                reason = $"lib{LibraryName}.so has API version {version}, expected {ExpectedApiVersion} (rebuild native/)";
                return false;
            }
            int rc = Init();
            if (rc != 0)
            {
                reason = $"lib{LibraryName}.so could not read the topology (errno {rc})";
                return false;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            reason = $"lib{LibraryName}.so is unusable: {e.Message}";
            return false;
        }
        reason = null;
        return true;
    }

    /// <summary>
    /// Loads <paramref name="name"/> with the search LibraryImport uses (the application directory, then
    /// the system): the handle, or false with the reason. For callers that look up exports themselves.
    /// </summary>
    public static bool TryLoad(string name, out nint handle, out string? reason)
    {
        if (NativeLibrary.TryLoad(name, typeof(NativeHelper).Assembly, DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories, out handle))
        {
            reason = null;
            return true;
        }
        reason = $"lib{name}.so not found next to {Path.GetFileName(typeof(NativeHelper).Assembly.Location)} or on the library path (build native/ with cmake: ./build.sh)";
        return false;
    }

    /// <summary>The topology as the library reports it. Call only after <see cref="TryOpen"/> succeeded.</summary>
    public static CpuTopology ReadTopology()
    {
        int n = LogicalCpuCount();
        if (n <= 0) throw new InvalidOperationException($"lib{LibraryName}.so reported {n} CPUs");
        var cpus = new LogicalCpu[n];
        for (int i = 0; i < n; i++)
        {
            int id, core, socket, node;
            if (CpuInfo(i, &id, &core, &socket, &node) != 0) throw new InvalidOperationException($"lib{LibraryName}.so: no data for CPU index {i}");
            cpus[i] = new LogicalCpu(id, core, socket, node);
        }
        return new CpuTopology(n, PhysicalCoreCount(), SocketCount(), Math.Max(1, NumaNodeCount()),
            CacheBytes(1), CacheBytes(2), CacheBytes(3), cpus);
    }
}
