using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Platform;
using Xunit;

namespace Crystalline.Hpc.Tests.Memory;

[Collection(NativeMemoryCollection.Name)]
public sealed unsafe class AlignedBufferTests : LeakCheckedTest
{
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    private struct ThreeBytes
    {
        public byte A, B, C;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    public void Every_buffer_is_64_byte_aligned(int length)
    {
        using var f = new AlignedBuffer<float>(length);
        using var d = new AlignedBuffer<double>(length);
        using var b = new AlignedBuffer<byte>(length);
        using var t = new AlignedBuffer<ThreeBytes>(length);
        Assert.Equal(0, (long)f.Pointer % 64);
        Assert.Equal(0, (long)d.Pointer % 64);
        Assert.Equal(0, (long)b.Pointer % 64);
        Assert.Equal(0, (long)t.Pointer % 64);
        Assert.Equal(length * 3L, t.ByteLength);
        Assert.Equal(length, f.Span.Length);
    }

    [Fact]
    public void New_buffers_are_zeroed_even_where_the_allocator_reuses_dirty_memory()
    {
        const int n = 1 << 16;
        for (int round = 0; round < 4; round++)
        {
            using (var dirty = new AlignedBuffer<byte>(n)) dirty.Span.Fill(0xA5);
            using var clean = new AlignedBuffer<byte>(n);
            Assert.Equal(-1, clean.Span.IndexOfAnyExcept((byte)0));
        }
    }

    [Fact]
    public void Live_bytes_count_the_buffer_until_it_is_disposed_and_dispose_twice_is_fine()
    {
        var buffer = new AlignedBuffer<long>(1000);
        Assert.Equal(8000, LiveBytes);
        Assert.False(buffer.IsDisposed);
        buffer.Dispose();
        Assert.True(buffer.IsDisposed);
        Assert.Equal(0, LiveBytes);
        buffer.Dispose();
        Assert.Equal(0, LiveBytes);
        Assert.Throws<ObjectDisposedException>(() => { _ = buffer.Pointer; });
        Assert.Throws<ObjectDisposedException>(() => { _ = buffer.Span.Length; });
    }

    [Fact]
    public void The_finalizer_frees_a_forgotten_buffer()
    {
        WeakReference forgotten = Forget(4096);
        Assert.Equal(4096 * sizeof(int), LiveBytes);
        Settle();
        Assert.False(forgotten.IsAlive);
        Assert.Equal(0, LiveBytes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Forget(int n)
    {
        var b = new AlignedBuffer<int>(n);
        b.Span.Fill(3);
        return new WeakReference(b);
    }

    [Fact]
    public void Slices_are_bounds_checked()
    {
        using var b = new AlignedBuffer<int>(10);
        for (int i = 0; i < 10; i++) b.Span[i] = i;
        Assert.Equal(new[] { 3, 4, 5 }, b.Slice(3, 3).ToArray());
        Assert.Equal(0, b.Slice(10, 0).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Slice(8, 3).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Slice(-1, 1).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Slice(0, -1).Length);
    }

    [Fact]
    public void Bad_arguments_are_rejected_and_leak_nothing()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer<int>(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer<int>(10, -2));
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
            Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer<int>(10, PlatformServices.Current.Topology.NumaNodeCount + 1000));
        Assert.Equal(0, LiveBytes);
    }

    [Fact]
    public void Placement_on_a_node_works_with_every_fallback()
    {
        var platforms = new List<IPlatform> { PlatformServices.Current, PlatformServices.Create(new PlatformOptions { ForcePortable = true }) };
        if (OperatingSystem.IsLinux())
        {
            platforms.Add(PlatformServices.Create(new PlatformOptions { DisableLibNuma = true }));
            platforms.Add(PlatformServices.Create(new PlatformOptions { DisableLibNuma = true, SimulateAffinityRefusal = true }));
        }
        foreach (var p in platforms)
        {
            int node = p.Topology.Cpus[0].NumaNode;
            using var b = new AlignedBuffer<float>(100_000, node, p);
            Assert.Equal(node, b.NumaNode);
            Assert.Equal(0, (long)b.Pointer % 64);
            Assert.Equal(-1, b.Span.IndexOfAnyExcept(0f));
            b.Span.Fill(1.5f);
        }
    }
}
