using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Crystalline.Hpc.Memory;
using Xunit;

namespace Crystalline.Hpc.Tests.Memory;

[Collection(NativeMemoryCollection.Name)]
public sealed class SharedMemoryRegionTests : LeakCheckedTest
{
    [Fact]
    public void Read_only_region_serves_its_content_and_refuses_writes()
    {
        long[] initial = [1, 2, 3, 4];
        using var r = new SharedMemoryRegion<long>(initial, SharedAccessMode.ReadOnly);
        using (var lease = r.AcquireRead())
        {
            Assert.Equal(initial, lease.Span.ToArray());
            Assert.Equal(0, lease.Version);
        }
        Assert.Throws<InvalidOperationException>(() => { using var w = r.BeginWrite(); });
        Assert.True(r.Validate());
        Assert.Equal(RegionChecksum.Compute<long>(initial), r.ComputeChecksum());
        var s = r.Statistics;
        Assert.Equal(3, s.Reads); // the lease, Validate, ComputeChecksum
        Assert.Equal((0L, 0L), (s.Writes, s.Copies));
    }

    [Fact]
    public void Copy_on_write_readers_see_the_published_version_until_commit()
    {
        using var r = new SharedMemoryRegion<int>(new[] { 10, 20, 30 }, SharedAccessMode.CopyOnWrite);
        using var before = r.AcquireRead();
        var w = r.BeginWrite();
        w.Span[1] = 99;
        // Not yet committed: neither the held lease nor a fresh one sees the draft.
        Assert.Equal(20, before.Span[1]);
        using (var fresh = r.AcquireRead()) Assert.Equal(new[] { 10, 20, 30 }, fresh.Span.ToArray());
        Assert.Equal(0, r.Version);
        w.Commit();
        Assert.Equal(1, r.Version);
        // The old lease still holds the old version, whole.
        Assert.Equal(new[] { 10, 20, 30 }, before.Span.ToArray());
        Assert.Equal(0, before.Version);
        using (var after = r.AcquireRead())
        {
            Assert.Equal(new[] { 10, 99, 30 }, after.Span.ToArray());
            Assert.Equal(1, after.Version);
        }
        Assert.True(r.Validate());
        Assert.Equal((1L, 1L), (r.Statistics.Writes, r.Statistics.Copies));
    }

    [Fact]
    public void Copy_on_write_draft_disposed_without_commit_is_discarded()
    {
        using var r = new SharedMemoryRegion<int>(new[] { 1, 2 }, SharedAccessMode.CopyOnWrite);
        using (var w = r.BeginWrite()) w.Span.Fill(7);
        Assert.Equal(0, r.Version);
        var copy = new int[2];
        Assert.Equal(0, r.CopyTo(copy));
        Assert.Equal(new[] { 1, 2 }, copy);
        Assert.Equal((0L, 1L), (r.Statistics.Writes, r.Statistics.Copies));
        var w2 = r.BeginWrite();
        w2.Commit();
        bool threw = false;
        try { w2.Commit(); }
        catch (InvalidOperationException) { threw = true; }
        Assert.True(threw, "a second Commit must throw");
        w2.Dispose(); // after commit: nothing left to do
        Assert.Equal(1, r.Version);
    }

    [Fact]
    public void Copy_on_write_reuses_retired_buffers_so_steady_writes_allocate_no_native_memory()
    {
        const int n = 1024;
        using var r = new SharedMemoryRegion<float>(n, SharedAccessMode.CopyOnWrite);
        for (int i = 0; i < 3; i++)
        {
            var w = r.BeginWrite();
            w.Span.Fill(i);
            w.Commit();
        }
        long live = LiveBytes;
        Assert.Equal(2L * n * sizeof(float), live); // published + one spare
        for (int i = 0; i < 50; i++)
        {
            var w = r.BeginWrite();
            w.Span[0] = i;
            w.Commit();
        }
        Assert.Equal(live, LiveBytes);
        Assert.Equal(53, r.Version);
    }

    [Fact]
    public void Locked_write_changes_in_place_and_bumps_the_version_per_write()
    {
        using var r = new SharedMemoryRegion<int>(new[] { 5, 6 }, SharedAccessMode.LockedWrite);
        var w = r.BeginWrite();
        w.Span[0] = 50;
        w.Commit();
        using (var w2 = r.BeginWrite()) w2.Span[1] = 60; // in place: counts without Commit
        using (var lease = r.AcquireRead())
        {
            Assert.Equal(new[] { 50, 60 }, lease.Span.ToArray());
            Assert.Equal(2, lease.Version);
        }
        Assert.True(r.Validate());
        Assert.Equal((2L, 0L), (r.Statistics.Writes, r.Statistics.Copies));
    }

    [Theory]
    [InlineData(SharedAccessMode.CopyOnWrite)]
    [InlineData(SharedAccessMode.LockedWrite)]
    public void Concurrent_readers_never_see_a_torn_or_older_version(SharedAccessMode mode)
    {
        // Version v holds element i = v * 1_000_003 + i everywhere; a reader that ever sees two
        // versions mixed, a value not matching its lease's version, or the version going backwards fails.
        const int n = 2048, writes = 120, readers = 2;
        using var r = new SharedMemoryRegion<long>(Pattern(0, n), mode);
        using var done = new ManualResetEventSlim();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        long totalReads = 0;
        var threads = Enumerable.Range(0, readers).Select(_ => new Thread(() =>
        {
            long last = -1, reads = 0;
            try
            {
            while (!done.IsSet || reads == 0)
            {
                using var lease = r.AcquireRead();
                reads++;
                long v = lease.Version;
                if (v < last) failures.Enqueue($"version went back from {last} to {v}");
                last = v;
                ReadOnlySpan<long> s = lease.Span;
                for (int i = 0; i < s.Length; i++)
                {
                    if (s[i] != v * 1_000_003 + i)
                    {
                        failures.Enqueue($"version {v}, element {i}: {s[i]}");
                        break;
                    }
                }
            }
            }
            catch (Exception e)
            {
                failures.Enqueue(e.ToString()); // an exception on this thread must fail the test, not kill the test host
            }
            Interlocked.Add(ref totalReads, reads);
        })).ToList();
        threads.ForEach(t => t.Start());
        for (int v = 1; v <= writes; v++)
        {
            var w = r.BeginWrite();
            // Written back to front in two halves so a reader overlapping the write would see a mix.
            Span<long> s = w.Span;
            for (int i = n - 1; i >= n / 2; i--) s[i] = v * 1_000_003L + i;
            Thread.Yield();
            for (int i = n / 2 - 1; i >= 0; i--) s[i] = v * 1_000_003L + i;
            w.Commit();
        }
        done.Set();
        threads.ForEach(t => t.Join());
        Assert.Empty(failures);
        Assert.Equal(writes, r.Version);
        Assert.True(r.Validate());
        var stats = r.Statistics;
        Assert.Equal(writes, stats.Writes);
        Assert.Equal(totalReads + 1, stats.Reads); // + Validate's lease
        Assert.Equal(mode == SharedAccessMode.CopyOnWrite ? writes : 0, stats.Copies);
    }

    [Fact]
    public void Locked_write_readers_wait_for_a_writer_and_the_wait_is_counted()
    {
        using var r = new SharedMemoryRegion<int>(4, SharedAccessMode.LockedWrite);
        using var readerStarted = new ManualResetEventSlim();
        int seenVersion = -1;
        var w = r.BeginWrite();
        var reader = new Thread(() =>
        {
            readerStarted.Set();
            using var lease = r.AcquireRead();
            seenVersion = (int)lease.Version;
        });
        reader.Start();
        readerStarted.Wait();
        SpinWait.SpinUntil(() => r.Statistics.Waits > 0, TimeSpan.FromSeconds(30));
        Assert.Equal(-1, Volatile.Read(ref seenVersion)); // still blocked behind the writer
        w.Span.Fill(1);
        w.Commit();
        reader.Join();
        Assert.Equal(1, seenVersion);
        Assert.Equal(1, r.Statistics.Waits);
    }

    [Fact]
    public unsafe void Validation_detects_a_change_made_behind_the_regions_back()
    {
        using var r = new SharedMemoryRegion<double>(new[] { 1.0, 2.0, 3.0 }, SharedAccessMode.ReadOnly);
        Assert.True(r.Validate());
        using (var lease = r.AcquireRead())
        {
            // Simulates a stray write through a pointer into a read-only region.
            ref double first = ref MemoryMarshal.GetReference(lease.Span);
            Unsafe.Add(ref first, 2) = 3.0000001;
        }
        Assert.False(r.Validate());
        using var plain = new SharedMemoryRegion<int>(3, SharedAccessMode.ReadOnly, recordChecksums: false);
        Assert.Throws<InvalidOperationException>(() => plain.Validate());
    }

    [Fact]
    public void A_version_leased_at_dispose_is_freed_when_its_lease_ends()
    {
        var r = new SharedMemoryRegion<long>(1000, SharedAccessMode.CopyOnWrite);
        var lease = r.AcquireRead();
        r.Dispose();
        r.Dispose();
        Assert.Equal(8000, LiveBytes);
        Assert.Equal(0, lease.Span[999]); // still readable
        lease.Dispose();
        Assert.Equal(0, LiveBytes);
        Assert.Throws<ObjectDisposedException>(() => { using var l = r.AcquireRead(); });
        Assert.Throws<ObjectDisposedException>(() => { using var w = r.BeginWrite(); });
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryRegion<int>(-1, SharedAccessMode.ReadOnly));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryRegion<int>(4, (SharedAccessMode)7));
        using var r = new SharedMemoryRegion<int>(4, SharedAccessMode.CopyOnWrite);
        Assert.Throws<ArgumentException>(() => r.CopyTo(new int[3]));
    }

    private static long[] Pattern(long version, int n)
    {
        var a = new long[n];
        for (int i = 0; i < n; i++) a[i] = version * 1_000_003 + i;
        return a;
    }
}
