using System.Buffers.Binary;
using Crystalline.Hpc.Platform.Windows;
using Xunit;

namespace Crystalline.Hpc.Tests.Platform;

/// <summary>
/// The Windows back end cannot run here, but its parsing of GetLogicalProcessorInformationEx output
/// can: these buffers are laid out by hand from the winnt.h structures.
/// </summary>
public sealed class WindowsTopologyParserTests
{
    private static readonly int[] GroupBase = [0, 4]; // two groups of 4 processors

    [Fact]
    public void Two_groups_two_packages_smt_and_two_nodes()
    {
        var b = new List<byte>();
        // Group 0: package 0 with cores {0,1} and {2,3}; group 1: package 1 with cores {0,1} and {2,3} → CPUs 4-7.
        Processor(b, LogicalProcessorRelationship.RelationProcessorCore, (0b0011, 0));
        Processor(b, LogicalProcessorRelationship.RelationProcessorCore, (0b1100, 0));
        Processor(b, LogicalProcessorRelationship.RelationProcessorCore, (0b0011, 1));
        Processor(b, LogicalProcessorRelationship.RelationProcessorCore, (0b1100, 1));
        Processor(b, LogicalProcessorRelationship.RelationProcessorPackage, (0b1111, 0));
        Processor(b, LogicalProcessorRelationship.RelationProcessorPackage, (0b1111, 1));
        Cache(b, 1, LogicalProcessorRelationship.CacheInstruction, 32 * 1024);
        Cache(b, 1, LogicalProcessorRelationship.CacheData, 48 * 1024);
        Cache(b, 2, LogicalProcessorRelationship.CacheUnified, 2 * 1024 * 1024);
        Cache(b, 3, LogicalProcessorRelationship.CacheUnified, 64 * 1024 * 1024);
        Numa(b, 0, (0b1111, 0));
        Numa(b, 1, (0b1111, 1));
        Record(b, LogicalProcessorRelationship.RelationGroup, new byte[40]); // ignored

        var t = WindowsTopologyParser.Parse(b.ToArray(), GroupBase);

        Assert.Equal(8, t.LogicalCpuCount);
        Assert.Equal(4, t.PhysicalCoreCount);
        Assert.Equal(2, t.SocketCount);
        Assert.Equal(2, t.NumaNodeCount);
        Assert.Equal((48 * 1024L, 2L * 1024 * 1024, 64L * 1024 * 1024), (t.L1DataBytes, t.L2Bytes, t.L3Bytes));
        Assert.Equal(Enumerable.Range(0, 8), t.Cpus.Select(c => c.CpuId));
        Assert.Equal(new[] { 0, 0, 1, 1, 2, 2, 3, 3 }, t.Cpus.Select(c => c.CoreId).ToArray());
        Assert.Equal(new[] { 0, 0, 0, 0, 1, 1, 1, 1 }, t.Cpus.Select(c => c.SocketId).ToArray());
        Assert.Equal(new[] { 0, 0, 0, 0, 1, 1, 1, 1 }, t.Cpus.Select(c => c.NumaNode).ToArray());
    }

    [Fact]
    public void Truncated_or_empty_buffers_are_errors()
    {
        var b = new List<byte>();
        Processor(b, LogicalProcessorRelationship.RelationProcessorCore, (0b1, 0));
        byte[] cut = b.Take(b.Count - 4).ToArray();
        Assert.Throws<FormatException>(() => WindowsTopologyParser.Parse(cut, GroupBase));
        Assert.Throws<FormatException>(() => WindowsTopologyParser.Parse([], GroupBase));
        var badGroup = new List<byte>();
        Processor(badGroup, LogicalProcessorRelationship.RelationProcessorCore, (0b1, 5));
        Assert.Throws<FormatException>(() => WindowsTopologyParser.Parse(badGroup.ToArray(), GroupBase));
    }

    // PROCESSOR_RELATIONSHIP: Flags, EfficiencyClass, Reserved[20], GroupCount (u16) at 22, GROUP_AFFINITY[] at 24.
    private static void Processor(List<byte> b, int relationship, params (ulong Mask, ushort Group)[] groups)
    {
        var body = new byte[24 + 16 * groups.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(22), (ushort)groups.Length);
        for (int i = 0; i < groups.Length; i++) Affinity(body.AsSpan(24 + 16 * i), groups[i]);
        Record(b, relationship, body);
    }

    // NUMA_NODE_RELATIONSHIP: NodeNumber (u32), Reserved[18], GroupCount (u16) at 22, GROUP_AFFINITY at 24.
    private static void Numa(List<byte> b, uint node, (ulong Mask, ushort Group) group)
    {
        var body = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(body, node);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(22), 1);
        Affinity(body.AsSpan(24), group);
        Record(b, LogicalProcessorRelationship.RelationNumaNode, body);
    }

    // CACHE_RELATIONSHIP: Level, Associativity, LineSize (u16), CacheSize (u32) at 4, Type (i32) at 8, Reserved[18], GroupCount at 30, mask at 32.
    private static void Cache(List<byte> b, byte level, int type, uint size)
    {
        var body = new byte[48];
        body[0] = level;
        body[1] = 8;
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), 64);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), size);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(8), type);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(30), 1);
        Affinity(body.AsSpan(32), (0b1, 0));
        Record(b, LogicalProcessorRelationship.RelationCache, body);
    }

    private static void Affinity(Span<byte> at, (ulong Mask, ushort Group) g)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(at, g.Mask);
        BinaryPrimitives.WriteUInt16LittleEndian(at[8..], g.Group);
    }

    private static void Record(List<byte> b, int relationship, byte[] body)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(header, relationship);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(8 + body.Length));
        b.AddRange(header);
        b.AddRange(body);
    }
}
