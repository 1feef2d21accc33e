using System.Runtime.CompilerServices;
using Crystalline.Hpc.Memory;
using Xunit;
using Xunit.Sdk;

namespace Crystalline.Hpc.Tests.Memory;

[Collection(NativeMemoryCollection.Name)]
public sealed class NativeMemoryScopeTests
{
    private sealed class Probe : LeakCheckedTest
    {
    }

    [Fact]
    public void A_scope_counts_its_flows_buffers_on_any_thread_and_their_finalization()
    {
        using var before = new AlignedBuffer<byte>(100); // outside the scope: never counted in it
        using var scope = NativeMemoryTracker.BeginScope();
        var a = new AlignedBuffer<byte>(1000);
        long onThread = 0;
        var t = new Thread(() =>
        {
            using var b = new AlignedBuffer<byte>(500);
            onThread = scope.LiveBytes;
        });
        t.Start();
        t.Join();
        Assert.Equal(1500, onThread);
        Assert.Equal(1000, scope.LiveBytes);
        a.Dispose();
        Assert.Equal(0, scope.LiveBytes);
        Forget(300);
        Assert.Equal(300, scope.LiveBytes);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(0, scope.LiveBytes);
    }

    [Fact]
    public void Scopes_nest_and_a_buffer_counts_in_every_enclosing_scope()
    {
        using var outer = NativeMemoryTracker.BeginScope();
        using var x = new AlignedBuffer<int>(10);
        using (var inner = NativeMemoryTracker.BeginScope())
        {
            using var y = new AlignedBuffer<int>(5);
            Assert.Equal((20L, 60L), (inner.LiveBytes, outer.LiveBytes));
        }
        Assert.Equal(40, outer.LiveBytes);
        Assert.Same(outer, NativeMemoryTracker.CurrentScope);
    }

    [Fact]
    public void The_leak_check_fails_when_a_test_keeps_a_buffer()
    {
        var probe = new Probe();
        var kept = new AlignedBuffer<long>(16);
        Assert.Throws<EqualException>(() => probe.Dispose());
        kept.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Forget(int n) => _ = new AlignedBuffer<byte>(n);
}
