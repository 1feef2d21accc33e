using System.Runtime.ExceptionServices;
using Crystalline.Hpc.Platform;
using Crystalline.Hpc.Platform.Linux;
using Xunit;

namespace Crystalline.Hpc.Tests.Platform;

/// <summary>
/// The Linux back end on this machine. Every test that pins does so on a thread of its own, so the
/// test runner's threads keep their affinity. On another OS these tests return at once.
/// </summary>
public sealed class LinuxPlatformTests
{
    private static readonly bool s_linux = OperatingSystem.IsLinux();

    private static LinuxPlatform Make(PlatformOptions? options = null) => new(options ?? PlatformOptions.Default);

    [Fact]
    public void Current_is_the_linux_back_end()
    {
        if (!s_linux) return;
        Assert.StartsWith("linux-", PlatformServices.Current.BackendName, StringComparison.Ordinal);
    }

    [Fact]
    public void Topology_is_consistent_with_the_runtime()
    {
        if (!s_linux) return;
        var p = Make();
        var t = p.Topology;
        int[] allowed = p.GetCurrentAffinity();
        // The runtime counts the CPUs this process may use (affinity, cgroup quota): never more than online.
        Assert.InRange(Environment.ProcessorCount, 1, allowed.Length);
        Assert.InRange(allowed.Length, 1, t.LogicalCpuCount);
        Assert.Equal(t.LogicalCpuCount, t.Cpus.Count);
        Assert.All(allowed, cpu => Assert.Contains(t.Cpus, c => c.CpuId == cpu));
        Assert.Equal(t.Cpus.Select(c => c.CpuId).Order(), t.Cpus.Select(c => c.CpuId));
        Assert.Equal(t.Cpus.Count, t.Cpus.Select(c => c.CpuId).Distinct().Count());
        Assert.InRange(t.PhysicalCoreCount, 1, t.LogicalCpuCount);
        Assert.Equal(Enumerable.Range(0, t.PhysicalCoreCount), t.Cpus.Select(c => c.CoreId).Distinct().Order());
        Assert.InRange(t.SocketCount, 1, t.PhysicalCoreCount);
        Assert.InRange(t.NumaNodeCount, 1, 4096);
        Assert.True(t.L1DataBytes >= 0 && t.L2Bytes >= 0 && t.L3Bytes >= 0);
        foreach (var c in t.Cpus) Assert.Equal(c.NumaNode, p.NumaNodeOfCpu(c.CpuId));
    }

    [Fact]
    public void Native_library_and_managed_sysfs_reader_agree()
    {
        if (!s_linux) return;
        var withNative = Make();
        var managed = Make(new PlatformOptions { DisableNativeLibrary = true });
        Assert.Equal("linux-sysfs", managed.BackendName);
        Assert.Contains(managed.FallbackReasons, r => r.Contains("native library disabled", StringComparison.Ordinal));
        if (!NativeHelper.TryOpen(NativeHelper.LibraryName, out string? why))
        {
            // Built without cmake: the default back end must have fallen back and said why.
            Assert.Equal("linux-sysfs", withNative.BackendName);
            Assert.Contains(withNative.FallbackReasons, r => r.Contains(why!, StringComparison.Ordinal));
            return;
        }
        Assert.StartsWith("linux-native(", withNative.BackendName, StringComparison.Ordinal);
        var a = withNative.Topology;
        var b = managed.Topology;
        Assert.Equal(b.Cpus, a.Cpus);
        Assert.Equal((b.LogicalCpuCount, b.PhysicalCoreCount, b.SocketCount, b.NumaNodeCount), (a.LogicalCpuCount, a.PhysicalCoreCount, a.SocketCount, a.NumaNodeCount));
        Assert.Equal((b.L1DataBytes, b.L2Bytes, b.L3Bytes), (a.L1DataBytes, a.L2Bytes, a.L3Bytes));
    }

    [Fact]
    public void Pinning_to_each_allowed_cpu_is_confirmed_by_sched_getcpu()
    {
        if (!s_linux) return;
        var p = Make();
        Assert.True(p.SupportsAffinity, string.Join("; ", p.FallbackReasons));
        int[] allowed = p.GetCurrentAffinity();
        OnOwnThread(() =>
        {
            foreach (int cpu in allowed)
            {
                Assert.True(p.TryPinCurrentThread(cpu, out string? error), error);
                Assert.Null(error);
                Assert.Equal(cpu, p.GetCurrentCpu());
                Assert.Equal(cpu, LinuxLibc.SchedGetCpu());
                Assert.Equal(new[] { cpu }, p.GetCurrentAffinity());
            }
            // Back to the whole set: the thread may run anywhere again.
            Assert.True(p.TryPinCurrentThread(allowed, out string? e2), e2);
            Assert.Equal(allowed, p.GetCurrentAffinity());
        });
    }

    [Fact]
    public void Native_library_binding_is_confirmed_by_libc()
    {
        if (!s_linux || !NativeHelper.TryOpen(NativeHelper.LibraryName, out _)) return;
        int[] allowed = Make().GetCurrentAffinity();
        OnOwnThread(() =>
        {
            foreach (int cpu in allowed)
            {
                Assert.Equal(0, NativeHelper.BindCurrentThread(cpu));
                Assert.Equal(cpu, LinuxLibc.SchedGetCpu());
                Assert.Equal(cpu, NativeHelper.CurrentCpu());
            }
            Assert.Equal(LinuxLibc.EINVAL, NativeHelper.BindCurrentThread(-1));
        });
        Assert.Equal(-1, NativeHelper.NumaNodeOfCpu(1 << 20));
    }

    [Fact]
    public void Bad_pin_requests_are_refused_or_rejected()
    {
        if (!s_linux) return;
        var p = Make();
        Assert.Throws<ArgumentOutOfRangeException>(() => p.TryPinCurrentThread(-1, out _));
        Assert.Throws<ArgumentException>(() => p.TryPinCurrentThread(ReadOnlySpan<int>.Empty, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.NumaNodeOfCpu(-1));
        int before = p.GetCurrentAffinity().Length;
        Assert.False(p.TryPinCurrentThread(100_000, out string? error));
        Assert.Contains("not an online CPU", error, StringComparison.Ordinal);
        Assert.Equal(before, p.GetCurrentAffinity().Length);
    }

    [Fact]
    public void Refused_affinity_falls_back_with_the_reason_and_leaves_the_thread_alone()
    {
        if (!s_linux) return;
        var p = Make(new PlatformOptions { SimulateAffinityRefusal = true });
        Assert.False(p.SupportsAffinity);
        Assert.Contains(p.FallbackReasons, r => r.Contains("EPERM", StringComparison.Ordinal));
        int[] before = p.GetCurrentAffinity();
        Assert.False(p.TryPinCurrentThread(before[0], out string? error));
        Assert.Contains("EPERM", error, StringComparison.Ordinal);
        Assert.Equal(before, p.GetCurrentAffinity());
        Assert.False(PinningCheck.Run(p, before).AllConfirmed);
        // The rest still works.
        Assert.True(p.Topology.LogicalCpuCount >= 1);
        Assert.True(p.GetCurrentCpu() >= 0);
    }

    [Fact]
    public void Missing_native_library_falls_back_to_sysfs_with_the_reason()
    {
        if (!s_linux) return;
        // A name that does not exist goes through the real probe (NativeLibrary.TryLoad) and fails there.
        var p = Make(new PlatformOptions { NativeLibraryName = "crystalline_native_absent" });
        Assert.Equal("linux-sysfs", p.BackendName);
        Assert.Contains(p.FallbackReasons, r => r.Contains("libcrystalline_native_absent.so not found", StringComparison.Ordinal));
        Assert.Equal(Make(new PlatformOptions { DisableNativeLibrary = true }).Topology.Cpus, p.Topology.Cpus);
    }

    [Fact]
    public unsafe void Missing_libnuma_falls_back_with_the_reason_and_memory_still_works()
    {
        if (!s_linux) return;
        var p = Make(new PlatformOptions { LibNumaName = "libnuma_absent.so.1" });
        Assert.False(p.HasLibNuma);
        Assert.Contains(p.FallbackReasons, r => r.Contains("libnuma_absent.so.1 not found", StringComparison.Ordinal));
        foreach (var c in p.Topology.Cpus) Assert.Equal(c.NumaNode, p.NumaNodeOfCpu(c.CpuId));
        foreach (int node in new[] { -1, 0 })
        {
            byte* m = (byte*)p.AllocateAligned(10_000, node);
            Assert.True(m != null);
            Assert.Equal(0, (long)m % 64);
            m[0] = 1; m[9_999] = 2;
            p.FreeAligned(m, 10_000);
        }
        var disabled = Make(new PlatformOptions { DisableLibNuma = true });
        Assert.False(disabled.HasLibNuma);
        Assert.Contains(disabled.FallbackReasons, r => r.Contains("libnuma disabled", StringComparison.Ordinal));
    }

    [Fact]
    public unsafe void Libnuma_when_present_allocates_on_a_node_and_agrees_on_cpu_nodes()
    {
        if (!s_linux) return;
        LibNuma? numa = LibNuma.TryLoad(LibNuma.DefaultName, out string? why);
        var p = Make();
        if (numa is null)
        {
            Assert.Contains(p.FallbackReasons, r => r == why);
            return;
        }
        Assert.True(p.HasLibNuma);
        Assert.True(numa.MaxNode >= p.Topology.NumaNodeCount - 1);
        foreach (var c in p.Topology.Cpus) Assert.Equal(c.NumaNode, numa.NodeOfCpu(c.CpuId));
        int node = p.Topology.Cpus[0].NumaNode;
        byte* m = (byte*)numa.AllocOnNode(1 << 16, node);
        Assert.True(m != null);
        Assert.Equal(0, (long)m % 4096);
        new Span<byte>(m, 1 << 16).Fill(7);
        numa.Free(m, 1 << 16);
    }

    [Fact]
    public unsafe void Allocation_rejects_nodes_that_do_not_exist()
    {
        if (!s_linux) return;
        var p = Make();
        Assert.Throws<ArgumentOutOfRangeException>(() => { p.AllocateAligned(64, -2); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { p.AllocateAligned(64, p.Topology.NumaNodeCount + 1000); });
        Assert.False(string.IsNullOrEmpty(p.NumaAllocationPolicy));
        p.FreeAligned(null, 0); // freeing null is a no-op, as free() is
    }

    [Fact]
    public void Pinning_check_confirms_every_allowed_cpu()
    {
        if (!s_linux) return;
        var p = Make();
        int[] allowed = p.GetCurrentAffinity();
        var report = PinningCheck.Run(p, allowed);
        Assert.True(report.AllConfirmed, string.Join("; ", report.Failures));
        Assert.Equal(allowed, report.Confirmed);
    }

    private static void OnOwnThread(Action body)
    {
        ExceptionDispatchInfo? failure = null;
        var t = new Thread(() =>
        {
            try { body(); }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
        });
        t.Start();
        t.Join();
        failure?.Throw();
    }
}
