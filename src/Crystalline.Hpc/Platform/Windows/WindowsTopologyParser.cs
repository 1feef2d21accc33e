using System.Buffers.Binary;

namespace Crystalline.Hpc.Platform.Windows;

/// <summary>
/// Parses the SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX records GetLogicalProcessorInformationEx(RelationAll)
/// returns. Pure byte parsing, so tests on any OS can feed it a hand-built buffer.
/// </summary>
/// <remarks>
/// Record layout (x64): Relationship (int32) at 0, Size (uint32) at 4, then the union at 8.
/// PROCESSOR_RELATIONSHIP: Flags, EfficiencyClass, Reserved[20], GroupCount (uint16) at +22, GROUP_AFFINITY[] at +24.
/// NUMA_NODE_RELATIONSHIP: NodeNumber (uint32) at +0, Reserved[18], GroupCount at +22 (0 on old Windows: one mask), masks at +24.
/// CACHE_RELATIONSHIP: Level (byte) +0, Associativity +1, LineSize (uint16) +2, CacheSize (uint32) +4, Type (int32) +8,
/// Reserved[18], GroupCount at +30 (0 on old Windows: one mask), masks at +32. GROUP_AFFINITY: Mask (uint64) then Group (uint16), 16 bytes.
/// CPU ids are made dense across groups: group g's processor k is <c>groupBase[g] + k</c>.
/// </remarks>
internal static class WindowsTopologyParser
{
    private const int GroupAffinitySize = 16;

    public static CpuTopology Parse(ReadOnlySpan<byte> buffer, IReadOnlyList<int> groupBase)
    {
        var coreOf = new SortedDictionary<int, int>();   // cpu → core record number
        var packageOf = new Dictionary<int, int>();       // cpu → package record number
        var nodeOf = new Dictionary<int, int>();          // cpu → NUMA node number
        var nodes = new HashSet<int>();
        long l1 = 0, l2 = 0, l3 = 0;
        int cores = 0, packages = 0;
        int offset = 0;
        while (offset + 8 <= buffer.Length)
        {
            int relationship = BinaryPrimitives.ReadInt32LittleEndian(buffer[offset..]);
            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer[(offset + 4)..]);
            if (size < 8 || offset + size > buffer.Length) throw new FormatException($"bad processor information record (size {size} at offset {offset})");
            ReadOnlySpan<byte> body = buffer.Slice(offset + 8, size - 8);
            switch (relationship)
            {
                case LogicalProcessorRelationship.RelationProcessorCore:
                    foreach (int cpu in Cpus(body, 22, 24, groupBase)) coreOf[cpu] = cores;
                    cores++;
                    break;
                case LogicalProcessorRelationship.RelationProcessorPackage:
                    foreach (int cpu in Cpus(body, 22, 24, groupBase)) packageOf[cpu] = packages;
                    packages++;
                    break;
                case LogicalProcessorRelationship.RelationNumaNode:
                    int node = (int)BinaryPrimitives.ReadUInt32LittleEndian(body);
                    nodes.Add(node);
                    foreach (int cpu in Cpus(body, 22, 24, groupBase)) nodeOf[cpu] = node;
                    break;
                case LogicalProcessorRelationship.RelationCache:
                    int level = body[0];
                    long bytes = BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
                    int type = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
                    if (type == LogicalProcessorRelationship.CacheInstruction) break;
                    if (level == 1 && l1 == 0) l1 = bytes;
                    else if (level == 2 && l2 == 0) l2 = bytes;
                    else if (level == 3 && l3 == 0) l3 = bytes;
                    break;
            }
            offset += size;
        }
        if (coreOf.Count == 0) throw new FormatException("no processor core records");
        // Dense core numbering in CPU order, as on Linux.
        var dense = new Dictionary<int, int>();
        var cpus = new List<LogicalCpu>(coreOf.Count);
        foreach (var (cpu, coreRecord) in coreOf)
        {
            if (!dense.TryGetValue(coreRecord, out int d)) dense[coreRecord] = d = dense.Count;
            cpus.Add(new LogicalCpu(cpu, d, packageOf.GetValueOrDefault(cpu), nodeOf.GetValueOrDefault(cpu)));
        }
        return new CpuTopology(cpus.Count, dense.Count, Math.Max(1, packages), Math.Max(1, nodes.Count), l1, l2, l3, cpus);
    }

    private static List<int> Cpus(ReadOnlySpan<byte> body, int groupCountOffset, int masksOffset, IReadOnlyList<int> groupBase)
    {
        int groupCount = Math.Max(1, (int)BinaryPrimitives.ReadUInt16LittleEndian(body[groupCountOffset..]));
        var list = new List<int>();
        for (int g = 0; g < groupCount; g++)
        {
            int at = masksOffset + g * GroupAffinitySize;
            if (at + GroupAffinitySize > body.Length) break;
            ulong mask = BinaryPrimitives.ReadUInt64LittleEndian(body[at..]);
            int group = BinaryPrimitives.ReadUInt16LittleEndian(body[(at + 8)..]);
            if (group >= groupBase.Count) throw new FormatException($"processor group {group} is not active");
            for (int bit = 0; bit < 64; bit++)
                if ((mask & (1UL << bit)) != 0) list.Add(groupBase[group] + bit);
        }
        return list;
    }
}

/// <summary>LOGICAL_PROCESSOR_RELATIONSHIP and PROCESSOR_CACHE_TYPE values (winnt.h).</summary>
internal static class LogicalProcessorRelationship
{
    public const int RelationProcessorCore = 0;
    public const int RelationNumaNode = 1;
    public const int RelationCache = 2;
    public const int RelationProcessorPackage = 3;
    public const int RelationGroup = 4;
    public const int RelationAll = 0xFFFF;

    public const int CacheUnified = 0;
    public const int CacheInstruction = 1;
    public const int CacheData = 2;
}
