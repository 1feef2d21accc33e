using System.Collections.Concurrent;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Crystalline.Hpc.Platform.Windows;

/// <summary>
/// Windows back end: topology from GetLogicalProcessorInformationEx, affinity within one processor
/// group through SetThreadGroupAffinity (a Windows thread runs in exactly one group), the current CPU
/// from GetCurrentProcessorNumberEx, NUMA placement through VirtualAllocExNuma.
/// CPU ids are dense across groups (group g's processor k is the sum of the earlier groups' sizes + k).
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WindowsPlatform : IPlatform
{
    private readonly List<string> _reasons = [];
    private readonly int[] _groupBase;
    private readonly int[] _groupSize;
    private readonly Dictionary<int, int> _nodeOfCpu = [];
    private readonly ConcurrentDictionary<nint, byte> _virtualAllocations = new();

    public WindowsPlatform()
    {
        int groups = Kernel32.GetActiveProcessorGroupCount();
        if (groups <= 0) throw new Win32Exception("GetActiveProcessorGroupCount returned 0");
        _groupBase = new int[groups];
        _groupSize = new int[groups];
        int total = 0;
        for (int g = 0; g < groups; g++)
        {
            _groupBase[g] = total;
            _groupSize[g] = (int)Kernel32.GetActiveProcessorCount((ushort)g);
            total += _groupSize[g];
        }
        Topology = WindowsTopologyParser.Parse(ReadProcessorInformation(), _groupBase);
        foreach (var c in Topology.Cpus) _nodeOfCpu[c.CpuId] = c.NumaNode;
        if (groups > 1) _reasons.Add($"{groups} processor groups: a thread can be pinned only within one group");
        NumaAllocationPolicy = Topology.NumaNodeCount > 1
            ? "VirtualAllocExNuma on the requested node; aligned allocation otherwise"
            : "one NUMA node: 64-byte-aligned allocation";
    }

    public string BackendName => "windows";
    public IReadOnlyList<string> FallbackReasons => _reasons;
    public CpuTopology Topology { get; }
    public bool SupportsAffinity => true;
    public string NumaAllocationPolicy { get; }

    public bool TryPinCurrentThread(int cpu, out string? error) => TryPinCurrentThread([cpu], out error);

    public bool TryPinCurrentThread(ReadOnlySpan<int> cpus, out string? error)
    {
        if (cpus.IsEmpty) throw new ArgumentException("at least one CPU is needed", nameof(cpus));
        int group = -1;
        ulong mask = 0;
        foreach (int cpu in cpus)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu, nameof(cpus));
            if (!ToGroup(cpu, out int g, out int bit))
            {
                error = $"CPU {cpu} does not exist ({Topology.LogicalCpuCount} logical CPUs)";
                return false;
            }
            if (group >= 0 && g != group)
            {
                error = $"CPUs {string.Join(',', cpus.ToArray())} span processor groups; a Windows thread runs in one group";
                return false;
            }
            group = g;
            mask |= 1UL << bit;
        }
        var affinity = new GroupAffinity { Mask = (nuint)mask, Group = (ushort)group };
        if (!Kernel32.SetThreadGroupAffinity(Kernel32.GetCurrentThread(), &affinity, null))
        {
            error = "SetThreadGroupAffinity: " + new Win32Exception(Marshal.GetLastPInvokeError()).Message;
            return false;
        }
        error = null;
        return true;
    }

    public int GetCurrentCpu()
    {
        ProcessorNumber n;
        Kernel32.GetCurrentProcessorNumberEx(&n);
        return n.Group < _groupBase.Length ? _groupBase[n.Group] + n.Number : -1;
    }

    public int[] GetCurrentAffinity()
    {
        GroupAffinity a;
        if (!Kernel32.GetThreadGroupAffinity(Kernel32.GetCurrentThread(), &a) || a.Group >= _groupBase.Length)
            return Topology.Cpus.Select(c => c.CpuId).ToArray();
        var list = new List<int>();
        ulong mask = a.Mask;
        for (int bit = 0; bit < 64; bit++)
            if ((mask & (1UL << bit)) != 0) list.Add(_groupBase[a.Group] + bit);
        return list.ToArray();
    }

    public int NumaNodeOfCpu(int cpu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        return _nodeOfCpu.GetValueOrDefault(cpu);
    }

    public void* AllocateAligned(nuint bytes, int node)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(node, -1);
        if (node >= Topology.NumaNodeCount && !_nodeOfCpu.ContainsValue(node))
            throw new ArgumentOutOfRangeException(nameof(node), node, $"NUMA node {node} does not exist (this machine has {Topology.NumaNodeCount})");
        nuint size = bytes == 0 ? 1 : bytes;
        if (node >= 0 && Topology.NumaNodeCount > 1)
        {
            // VirtualAlloc* memory is aligned to the 64 KiB allocation granularity, so 64-byte alignment holds.
            void* p = Kernel32.VirtualAllocExNuma(Kernel32.GetCurrentProcess(), null, size, Kernel32.MemReserve | Kernel32.MemCommit, Kernel32.PageReadWrite, (uint)node);
            if (p != null)
            {
                _virtualAllocations[(nint)p] = 0;
                return p;
            }
        }
        return NativeMemory.AlignedAlloc(size, 64);
    }

    public void FreeAligned(void* pointer, nuint bytes)
    {
        if (pointer == null) return;
        // MEM_RELEASE requires size 0: it frees the whole reservation.
        if (_virtualAllocations.TryRemove((nint)pointer, out _)) Kernel32.VirtualFree(pointer, 0, Kernel32.MemRelease);
        else NativeMemory.AlignedFree(pointer);
    }

    private bool ToGroup(int cpu, out int group, out int bit)
    {
        for (int g = 0; g < _groupBase.Length; g++)
        {
            if (cpu >= _groupBase[g] && cpu < _groupBase[g] + _groupSize[g])
            {
                group = g;
                bit = cpu - _groupBase[g];
                return true;
            }
        }
        group = bit = -1;
        return false;
    }

    private static byte[] ReadProcessorInformation()
    {
        uint length = 0;
        if (Kernel32.GetLogicalProcessorInformationEx(LogicalProcessorRelationship.RelationAll, null, &length) || Marshal.GetLastPInvokeError() != Kernel32.ErrorInsufficientBuffer)
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "GetLogicalProcessorInformationEx (size query)");
        // The set can grow between the two calls (hot-add); retry with the new size.
        while (true)
        {
            byte[] buffer = new byte[length];
            fixed (byte* b = buffer)
            {
                if (Kernel32.GetLogicalProcessorInformationEx(LogicalProcessorRelationship.RelationAll, b, &length)) return buffer.AsSpan(0, (int)length).ToArray();
            }
            if (Marshal.GetLastPInvokeError() != Kernel32.ErrorInsufficientBuffer)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "GetLogicalProcessorInformationEx");
        }
    }
}
