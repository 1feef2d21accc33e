using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace Crystalline.Hpc.Platform.Linux;

/// <summary>
/// Linux back end. Topology from libcrystalline_native (hwloc or its own /sys reader) when present,
/// else from /sys directly; affinity through libc (sched_setaffinity on the calling thread,
/// sched_getcpu); NUMA through libnuma loaded lazily. Every missing piece is reported in
/// <see cref="FallbackReasons"/> and replaced by something that works.
/// </summary>
internal sealed unsafe class LinuxPlatform : IPlatform
{
    // The kernel rejects sched_getaffinity with a mask smaller than its nr_cpu_ids; 1024 CPUs covers
    // nearly every machine and the probe grows it when the kernel says EINVAL.
    private const int MinMaskWords = 16;
    private const int MaxMaskWords = 1 << 12;

    private readonly PlatformOptions _options;
    private readonly List<string> _reasons = [];
    private readonly LibNuma? _numa;
    private readonly Dictionary<int, int> _nodeOfCpu = [];
    private readonly Dictionary<int, int[]> _cpusOfNode = [];
    private readonly HashSet<int> _onlineCpus;
    private readonly ConcurrentDictionary<nint, nuint> _numaAllocations = new();
    private readonly int _maskWords;
    private readonly nuint _pageSize;
    private readonly string? _affinityError;

    public LinuxPlatform(PlatformOptions options)
    {
        _options = options;
        if (options.DisableNativeLibrary)
        {
            Topology = SysfsTopology.Read(options.SysfsRoot, _reasons);
            _reasons.Insert(0, "native library disabled by option (CRYSTALLINE_NO_NATIVE): topology read from /sys by managed code");
            BackendName = "linux-sysfs";
        }
        else if (NativeHelper.TryOpen(options.NativeLibraryName, out string? why))
        {
            Topology = NativeHelper.ReadTopology();
            BackendName = $"linux-native({NativeHelper.Backend})";
            if (NativeHelper.Backend != "hwloc") _reasons.Add("libcrystalline_native was built without hwloc (install libhwloc-dev and rebuild native/): it reads /sys");
        }
        else
        {
            _reasons.Add(why + "; topology read from /sys by managed code");
            Topology = SysfsTopology.Read(options.SysfsRoot, _reasons);
            BackendName = "linux-sysfs";
        }
        _onlineCpus = Topology.Cpus.Select(c => c.CpuId).ToHashSet();
        foreach (var g in Topology.Cpus.GroupBy(c => c.NumaNode))
        {
            _cpusOfNode[g.Key] = g.Select(c => c.CpuId).ToArray();
            foreach (var c in g) _nodeOfCpu[c.CpuId] = c.NumaNode;
        }

        _pageSize = PageSize();

        int maxCpu = Topology.Cpus.Max(c => c.CpuId);
        (_affinityError, _maskWords) = ProbeAffinity(Math.Max(MinMaskWords, maxCpu / 64 + 1));
        SupportsAffinity = _affinityError is null;
        if (_affinityError is not null) _reasons.Add("thread affinity unavailable: " + _affinityError);

        if (options.DisableLibNuma)
        {
            _reasons.Add("libnuma disabled by option (CRYSTALLINE_NO_NUMA)");
        }
        else
        {
            _numa = LibNuma.TryLoad(options.LibNumaName, out string? numaWhy);
            if (_numa is null) _reasons.Add(numaWhy!);
        }
        NumaAllocationPolicy = (Topology.NumaNodeCount, _numa, SupportsAffinity) switch
        {
            (<= 1, _, _) => "one NUMA node: 64-byte-aligned allocation, pages placed by first touch",
            (_, not null, _) => "numa_alloc_onnode (libnuma) for a requested node; aligned allocation otherwise",
            (_, null, true) => "no libnuma: aligned allocation, first-touched by the allocating thread pinned to the node's CPUs",
            _ => "no libnuma and no affinity: aligned allocation, first touch wherever the caller runs (no placement)",
        };
        if (Topology.NumaNodeCount > 1 && _numa is null)
            _reasons.Add("NUMA placement by first touch only (" + (SupportsAffinity ? "pinned toucher" : "no affinity either: no placement") + ")");
    }

    public string BackendName { get; }
    public IReadOnlyList<string> FallbackReasons => _reasons;
    public CpuTopology Topology { get; }
    public bool SupportsAffinity { get; }
    public string NumaAllocationPolicy { get; }

    /// <summary>True when libnuma was loaded and reports NUMA support.</summary>
    internal bool HasLibNuma => _numa is not null;

    internal LibNuma? LibNuma => _numa;

    /// <summary>The CPU the last first-touch placement ran on (−1: not pinned); lets tests see the toucher was on the node.</summary>
    internal int LastFirstTouchCpu { get; private set; } = -1;

    public bool TryPinCurrentThread(int cpu, out string? error) => TryPinCurrentThread([cpu], out error);

    public bool TryPinCurrentThread(ReadOnlySpan<int> cpus, out string? error)
    {
        if (cpus.IsEmpty) throw new ArgumentException("at least one CPU is needed", nameof(cpus));
        if (_affinityError is not null)
        {
            error = "thread affinity unavailable: " + _affinityError;
            return false;
        }
        ulong* mask = stackalloc ulong[_maskWords];
        new Span<ulong>(mask, _maskWords).Clear();
        foreach (int cpu in cpus)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu, nameof(cpus));
            if (!_onlineCpus.Contains(cpu) || cpu >= _maskWords * 64)
            {
                error = $"CPU {cpu} is not an online CPU of this machine ({Topology.LogicalCpuCount} online)";
                return false;
            }
            mask[cpu >> 6] |= 1UL << (cpu & 63);
        }
        int errno = SetAffinity(mask, _maskWords);
        error = errno == 0 ? null : "sched_setaffinity: " + LinuxLibc.ErrnoName(errno);
        return errno == 0;
    }

    public int GetCurrentCpu()
    {
        int cpu = LinuxLibc.SchedGetCpu();
        return cpu >= 0 ? cpu : -1;
    }

    public int[] GetCurrentAffinity()
    {
        ulong* mask = stackalloc ulong[_maskWords];
        if (LinuxLibc.SchedGetAffinity(0, (nuint)(_maskWords * sizeof(ulong)), mask) != 0)
            return Topology.Cpus.Select(c => c.CpuId).ToArray();
        return MaskToCpus(mask, _maskWords);
    }

    public int NumaNodeOfCpu(int cpu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        if (_nodeOfCpu.TryGetValue(cpu, out int node)) return node;
        if (_numa is not null && _numa.NodeOfCpu(cpu) is int n and >= 0) return n;
        return 0;
    }

    public void* AllocateAligned(nuint bytes, int node)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(node, -1);
        if (node >= 0 && !_cpusOfNode.ContainsKey(node) && node >= Topology.NumaNodeCount)
            throw new ArgumentOutOfRangeException(nameof(node), node, $"NUMA node {node} does not exist (this machine has {Topology.NumaNodeCount})");
        nuint size = bytes == 0 ? 1 : bytes;
        if (node >= 0 && Topology.NumaNodeCount > 1)
        {
            if (_numa is not null)
            {
                void* p = _numa.AllocOnNode(size, node);
                if (p != null)
                {
                    _numaAllocations[(nint)p] = size;
                    return p;
                }
                // numa_alloc_onnode fails for a memory-less or full node; plain memory still works.
            }
            else if (SupportsAffinity && _cpusOfNode.TryGetValue(node, out int[]? nodeCpus))
            {
                void* p = NativeMemory.AlignedAlloc(size, 64);
                if (p != null) FirstTouchOnNode((byte*)p, size, nodeCpus);
                return p;
            }
        }
        return NativeMemory.AlignedAlloc(size, 64);
    }

    public void FreeAligned(void* pointer, nuint bytes)
    {
        if (pointer == null) return;
        if (_numaAllocations.TryRemove((nint)pointer, out nuint size)) _numa!.Free(pointer, size);
        else NativeMemory.AlignedFree(pointer);
    }

    /// <summary>
    /// Linux places a page on the node of the CPU that first writes it, so touching every page from
    /// a thread confined to the node's CPUs places the buffer there without libnuma.
    /// </summary>
    private void FirstTouchOnNode(byte* p, nuint bytes, int[] nodeCpus)
    {
        ulong* saved = stackalloc ulong[_maskWords];
        bool restore = LinuxLibc.SchedGetAffinity(0, (nuint)(_maskWords * sizeof(ulong)), saved) == 0;
        bool pinned = TryPinCurrentThread(nodeCpus, out _);
        for (nuint offset = 0; offset < bytes; offset += _pageSize) p[offset] = 0;
        LastFirstTouchCpu = pinned ? GetCurrentCpu() : -1;
        if (pinned && restore) SetAffinity(saved, _maskWords);
    }

    private int SetAffinity(ulong* mask, int words)
    {
        if (_options.SimulateAffinityRefusal) return LinuxLibc.EPERM;
        return LinuxLibc.SchedSetAffinity(0, (nuint)(words * sizeof(ulong)), mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// Reads the calling thread's mask (growing it while the kernel says it is too small) and sets it
    /// back unchanged: harmless, and it fails exactly where pinning would.
    /// </summary>
    private (string? Error, int Words) ProbeAffinity(int words)
    {
        while (true)
        {
            ulong[] mask = new ulong[words];
            fixed (ulong* m = mask)
            {
                if (LinuxLibc.SchedGetAffinity(0, (nuint)(words * sizeof(ulong)), m) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == LinuxLibc.EINVAL && words < MaxMaskWords)
                    {
                        words *= 2;
                        continue;
                    }
                    return ("sched_getaffinity: " + LinuxLibc.ErrnoName(errno), words);
                }
                int rc = SetAffinity(m, words);
                return rc == 0
                    ? (null, words)
                    : ("sched_setaffinity refused: " + LinuxLibc.ErrnoName(rc) + (_options.SimulateAffinityRefusal ? " [simulated by option]" : ""), words);
            }
        }
    }

    private static int[] MaskToCpus(ulong* mask, int words)
    {
        var list = new List<int>();
        for (int w = 0; w < words; w++)
        {
            ulong bits = mask[w];
            while (bits != 0)
            {
                int b = System.Numerics.BitOperations.TrailingZeroCount(bits);
                list.Add(w * 64 + b);
                bits &= bits - 1;
            }
        }
        return list.ToArray();
    }

    /// <summary>The page size from sysconf(_SC_PAGESIZE) through Mono.Unix; 4 KiB when that fails.</summary>
    private static nuint PageSize()
    {
        try
        {
            long v = Syscall.sysconf(SysconfName._SC_PAGESIZE);
            return v > 0 ? (nuint)v : 4096;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            return 4096;
        }
    }
}
