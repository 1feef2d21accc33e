using Crystalline.Hpc.Platform;
using Crystalline.Hpc.Platform.Linux;
using Xunit;

namespace Crystalline.Hpc.Tests.Platform;

public sealed class SysfsTopologyTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "crystalline-sysfs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("0-3,8,10-11", "0,1,2,3,8,10,11")]
    [InlineData("5", "5")]
    [InlineData("", "")]
    [InlineData("0-1\n", "0,1")]
    [InlineData("4,0-1", "0,1,4")]
    public void Cpu_lists_parse(string text, string expected) =>
        Assert.Equal(expected, string.Join(",", SysfsTopology.ParseCpuList(text)));

    [Theory]
    [InlineData("3-1")]
    [InlineData("a")]
    [InlineData("1,,2")]
    [InlineData("-1")]
    public void Bad_cpu_lists_are_rejected(string text) =>
        Assert.Throws<FormatException>(() => SysfsTopology.ParseCpuList(text));

    [Theory]
    [InlineData("32K", 32 * 1024)]
    [InlineData("1024K", 1024 * 1024)]
    [InlineData("32M", 32L * 1024 * 1024)]
    [InlineData("512", 512)]
    public void Cache_sizes_parse(string text, long expected) => Assert.Equal(expected, SysfsTopology.ParseSize(text));

    [Fact]
    public void Bad_cache_size_is_rejected() => Assert.Throws<FormatException>(() => SysfsTopology.ParseSize("big"));

    // A machine this one is not: 2 sockets × 2 cores × 2 hardware threads, CPUs numbered the way
    // Linux numbers SMT siblings (second thread of each core after all first threads), one NUMA node
    // per socket plus a memory-only node, and core_id values that repeat across sockets.
    [Fact]
    public void Two_socket_smt_machine_is_read_with_dense_cores_and_nodes()
    {
        // cpu → (package, core_id): first threads 0-3, siblings 4-7.
        var layout = new (int Package, int Core)[] { (0, 0), (0, 1), (1, 0), (1, 1), (0, 0), (0, 1), (1, 0), (1, 1) };
        for (int cpu = 0; cpu < layout.Length; cpu++)
        {
            Write($"cpu/cpu{cpu}/topology/physical_package_id", layout[cpu].Package.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Write($"cpu/cpu{cpu}/topology/core_id", layout[cpu].Core.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        Write("cpu/online", "0-7\n");
        Write("cpu/cpu0/cache/index0/level", "1"); Write("cpu/cpu0/cache/index0/type", "Data"); Write("cpu/cpu0/cache/index0/size", "48K");
        Write("cpu/cpu0/cache/index1/level", "1"); Write("cpu/cpu0/cache/index1/type", "Instruction"); Write("cpu/cpu0/cache/index1/size", "32K");
        Write("cpu/cpu0/cache/index2/level", "2"); Write("cpu/cpu0/cache/index2/type", "Unified"); Write("cpu/cpu0/cache/index2/size", "2048K");
        Write("cpu/cpu0/cache/index3/level", "3"); Write("cpu/cpu0/cache/index3/type", "Unified"); Write("cpu/cpu0/cache/index3/size", "96M");
        Write("node/online", "0-2");
        Write("node/node0/cpulist", "0-1,4-5");
        Write("node/node1/cpulist", "2-3,6-7");
        Write("node/node2/cpulist", "\n"); // memory-only (CXL-style) node

        var t = SysfsTopology.Read(_root);

        Assert.Equal(8, t.LogicalCpuCount);
        Assert.Equal(4, t.PhysicalCoreCount);
        Assert.Equal(2, t.SocketCount);
        Assert.Equal(3, t.NumaNodeCount);
        Assert.Equal((48 * 1024L, 2048 * 1024L, 96L * 1024 * 1024), (t.L1DataBytes, t.L2Bytes, t.L3Bytes));
        Assert.Equal(new[] { 0, 1, 2, 3, 0, 1, 2, 3 }, t.Cpus.Select(c => c.CoreId).ToArray());
        Assert.Equal(new[] { 0, 0, 1, 1, 0, 0, 1, 1 }, t.Cpus.Select(c => c.SocketId).ToArray());
        Assert.Equal(new[] { 0, 0, 1, 1, 0, 0, 1, 1 }, t.Cpus.Select(c => c.NumaNode).ToArray());
        Assert.Equal(Enumerable.Range(0, 8), t.Cpus.Select(c => c.CpuId));
    }

    [Fact]
    public void Missing_online_files_fall_back_to_cpu_directories_and_one_node()
    {
        Write("cpu/cpu0/topology/core_id", "0");
        Write("cpu/cpu2/topology/core_id", "1"); // CPU 1 offline: ids need not be contiguous
        Directory.CreateDirectory(Path.Combine(_root, "cpu", "cpufreq")); // not a CPU

        var notes = new List<string>();
        var t = SysfsTopology.Read(_root, notes);

        Assert.Equal(new[] { 0, 2 }, t.Cpus.Select(c => c.CpuId).ToArray());
        Assert.Equal(2, t.PhysicalCoreCount);
        Assert.Equal(1, t.NumaNodeCount);
        Assert.Equal(0L, t.L3Bytes);
        Assert.Contains(notes, n => n.Contains("online is missing", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.Contains("cache sizes", StringComparison.Ordinal));
    }

    [Fact]
    public void No_cpus_is_an_error() => Assert.Throws<IOException>(() => SysfsTopology.Read(_root));

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}

/// <summary>
/// The first-touch placement path (two NUMA nodes, no libnuma) on a fabricated sysfs tree that puts
/// this machine's CPU 1 alone on node 1: allocation for node 1 must touch from CPU 1 and give the
/// thread its affinity back.
/// </summary>
public sealed class FirstTouchPlacementTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "crystalline-sysfs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public unsafe void Memory_for_a_node_is_touched_from_that_nodes_cpu_without_libnuma()
    {
        if (!OperatingSystem.IsLinux()) return;
        var real = new LinuxPlatform(PlatformOptions.Default);
        int[] allowed = real.GetCurrentAffinity();
        if (!allowed.Contains(0) || !allowed.Contains(1)) return; // needs CPUs 0 and 1 usable
        Write("cpu/online", "0-1");
        Write("cpu/cpu0/topology/core_id", "0");
        Write("cpu/cpu1/topology/core_id", "1");
        Write("node/online", "0-1");
        Write("node/node0/cpulist", "0");
        Write("node/node1/cpulist", "1");
        var p = new LinuxPlatform(new PlatformOptions { SysfsRoot = _root, DisableNativeLibrary = true, DisableLibNuma = true });
        Assert.Equal(2, p.Topology.NumaNodeCount);
        Assert.Contains("pinned to the node", p.NumaAllocationPolicy, StringComparison.Ordinal);
        Assert.Contains(p.FallbackReasons, r => r.Contains("first touch", StringComparison.Ordinal));

        Exception? failure = null;
        var t = new Thread(() =>
        {
            try
            {
                int[] before = p.GetCurrentAffinity();
                const int bytes = 1 << 20;
                byte* m = (byte*)p.AllocateAligned(bytes, 1);
                Assert.True(m != null);
                Assert.Equal(0, (long)m % 64);
                Assert.Equal(1, p.LastFirstTouchCpu);
                Assert.Equal(before, p.GetCurrentAffinity());
                m[bytes - 1] = 1;
                p.FreeAligned(m, bytes);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        t.Start();
        t.Join();
        Assert.Null(failure);
    }

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
