using Crystalline.Hpc.Platform;
using Xunit;

namespace Crystalline.Hpc.Tests.Platform;

public sealed class PortableAndServicesTests
{
    [Fact]
    public void Forced_portable_reports_why_and_refuses_affinity()
    {
        var p = PlatformServices.Create(new PlatformOptions { ForcePortable = true });
        Assert.Equal("portable", p.BackendName);
        Assert.Contains(p.FallbackReasons, r => r.Contains("forced", StringComparison.Ordinal));
        Assert.False(p.SupportsAffinity);
        Assert.False(p.TryPinCurrentThread(0, out string? error));
        Assert.Contains("not supported", error, StringComparison.Ordinal);
        Assert.Equal(-1, p.GetCurrentCpu());
        Assert.Equal(0, p.NumaNodeOfCpu(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.NumaNodeOfCpu(-1));
        Assert.Throws<ArgumentException>(() => p.TryPinCurrentThread(ReadOnlySpan<int>.Empty, out _));
        Assert.InRange(Environment.ProcessorCount, 1, p.Topology.LogicalCpuCount);
        Assert.Equal(p.Topology.LogicalCpuCount, p.GetCurrentAffinity().Length);
    }

    [Fact]
    public unsafe void Portable_allocation_is_aligned()
    {
        var p = PlatformServices.Create(new PlatformOptions { ForcePortable = true });
        foreach (nuint size in new nuint[] { 0, 1, 63, 64, 65, 4097, 1 << 20 })
        {
            void* m = p.AllocateAligned(size, 0);
            Assert.True(m != null);
            Assert.Equal(0, (long)m % 64);
            p.FreeAligned(m, size);
        }
    }

    [Fact]
    public void An_unreadable_sysfs_degrades_to_portable_instead_of_crashing()
    {
        if (!OperatingSystem.IsLinux()) return;
        var p = PlatformServices.Create(new PlatformOptions
        {
            DisableNativeLibrary = true,
            SysfsRoot = Path.Combine(Path.GetTempPath(), "crystalline-no-such-sysfs-" + Guid.NewGuid().ToString("N")),
        });
        Assert.Equal("portable", p.BackendName);
        Assert.Contains(p.FallbackReasons, r => r.Contains("Linux back end failed to start", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_combination_of_switched_off_capabilities_still_works()
    {
        if (!OperatingSystem.IsLinux()) return;
        foreach (bool native in new[] { false, true })
        foreach (bool numa in new[] { false, true })
        foreach (bool affinity in new[] { false, true })
        {
            var p = PlatformServices.Create(new PlatformOptions { DisableNativeLibrary = native, DisableLibNuma = numa, SimulateAffinityRefusal = affinity });
            Assert.StartsWith("linux-", p.BackendName, StringComparison.Ordinal);
            Assert.Equal(!affinity, p.SupportsAffinity);
            Assert.True(p.Topology.LogicalCpuCount >= 1);
            if (native || numa || affinity) Assert.NotEmpty(p.FallbackReasons);
        }
    }
}
