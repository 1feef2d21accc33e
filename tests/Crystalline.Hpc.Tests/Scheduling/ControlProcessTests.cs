using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

public class ControlProcessTests
{
    /// <summary>Counts how often each sphere ran and checks the worker index it was given.</summary>
    private sealed class CountingWork(int sphereCount, int workerCount) : ISphereWork, IParallelWork
    {
        public readonly int[] Runs = new int[sphereCount];
        public int BadWorker;
        public long Spin;

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            if ((uint)workerIndex >= (uint)workerCount) Interlocked.Increment(ref BadWorker);
            if (Spin > 0) Thread.SpinWait((int)Spin);
            Interlocked.Increment(ref Runs[sphereIndex]);
        }

        public void ExecuteItem(int itemIndex, int workerIndex) => ExecuteSphere(itemIndex, workerIndex);
    }

    public static TheoryData<int, int, bool, bool> ForkJoinCases()
    {
        var data = new TheoryData<int, int, bool, bool>();
        foreach (int n in new[] { 1, 2, 3, 5, 7, 11, 12, 13, 16, 24, 25, 48 })
            foreach (int depth in new[] { 0, 1, 2 })
                data.Add(n, depth, n % 2 == 0 || depth == 2, depth != 1);
        data.Add(48, 1, false, true);
        data.Add(13, 2, false, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(ForkJoinCases))]
    public void Every_sphere_runs_exactly_once_per_epoch(int workers, int depth, bool stealing, bool caller)
    {
        using var cp = new ControlProcess(new ControlProcessOptions
        {
            WorkerCount = workers, HierarchyDepth = depth, EnableWorkStealing = stealing, UseCallingThread = caller, SpinRounds = 50, WorkingMemoryBytesPerWorker = 4096,
        });
        int expectedSpheres = depth switch { 0 => 1, 1 => 12, _ => 144 };
        Assert.Equal(expectedSpheres, cp.SphereCount);
        Assert.Equal(workers, cp.WorkerCount);
        var work = new CountingWork(cp.SphereCount, workers);
        const int epochs = 5;
        for (int e = 0; e < epochs; e++) cp.RunEpoch(work);
        Assert.All(work.Runs, r => Assert.Equal(epochs, r));
        Assert.Equal(0, work.BadWorker);

        // Statistics add up: items per sphere, items per worker, steals given = taken.
        SchedulerStatistics st = cp.Statistics;
        SphereCounters spheres = st.SumOfSpheres(0, cp.SphereCount);
        SphereCounters totals = st.WorkerTotals();
        Assert.Equal((long)epochs * cp.SphereCount, spheres.WorkItems);
        Assert.Equal(spheres.WorkItems, totals.WorkItems);
        Assert.Equal(totals.StealsTaken, totals.StealsGiven);
        Assert.Equal(totals.StealsTaken, spheres.StealsGiven);
        for (int s = 0; s < cp.SphereCount; s++) Assert.Equal(epochs, st.Sphere(s).WorkItems);
        if (!stealing) Assert.Equal(0, totals.StealsTaken);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(4, 1000)]
    [InlineData(7, 100_003)]
    [InlineData(48, 30)]
    [InlineData(48, 5000)]
    public void RunParallel_runs_every_item_exactly_once(int workers, int items)
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, SpinRounds = 50, UseCallingThread = workers % 2 == 0 });
        var work = new CountingWork(Math.Max(items, 1), workers);
        cp.RunParallel(work, items);
        cp.RunParallel(work, items);
        for (int i = 0; i < items; i++) Assert.Equal(2, work.Runs[i]);
        Assert.Equal(0, work.BadWorker);
        Assert.Equal(2L * items, cp.Statistics.WorkerTotals().WorkItems);
    }

    [Fact]
    public void Leaves_are_dealt_by_the_thread_allocation()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 5, HierarchyDepth = 2, SpinRounds = 10 });
        var alloc = new ThreadAllocation(5);
        for (int s = 0; s < 144; s++) Assert.Equal(alloc.OwnerOf(s / 12), cp.HomeWorkerOf(s));
        int total = 0;
        for (int w = 0; w < 5; w++)
        {
            foreach (int s in cp.SpheresOf(w)) Assert.Equal(w, cp.HomeWorkerOf(s));
            total += cp.SpheresOf(w).Length;
        }
        Assert.Equal(144, total);
    }

    [Fact]
    public void Above_twelve_workers_children_go_to_sibling_threads()
    {
        // 24 workers, depth 2: group g is served by workers g and g+12, six children each.
        Assert.Equal(3, Home(3 * 12 + 0, 2, 24));
        Assert.Equal(3, Home(3 * 12 + 5, 2, 24));
        Assert.Equal(15, Home(3 * 12 + 6, 2, 24));
        Assert.Equal(15, Home(3 * 12 + 11, 2, 24));
        // 30 workers: groups 0-5 have three servers (g, g+12, g+24), four children each.
        Assert.Equal(24, Home(0 * 12 + 8, 2, 30));
        Assert.Equal(12, Home(0 * 12 + 4, 2, 30));
        // Group 7 has two servers (7, 19 — 31 does not exist): children 6-11 go to 19.
        Assert.Equal(19, Home(7 * 12 + 11, 2, 30));
        Assert.Equal(7, Home(7 * 12 + 5, 2, 30));
        // Depth 1 with 48 workers: only workers 0-11 own leaves.
        for (int s = 0; s < 12; s++) Assert.Equal(s, Home(s, 1, 48));

        static int Home(int sphere, int depth, int workers)
        {
            var h = new SphereHierarchy(new SphereHierarchyLimits { ThreadQuota = workers });
            Assert.True(h.TrySpawnToDepth(depth, out _));
            ControlProcess.DealLeaves(h, new ThreadAllocation(workers), out int[] homes, out _);
            return homes[sphere];
        }
    }

    [Fact]
    public void Victims_prefer_siblings_of_the_same_parent()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 36, HierarchyDepth = 2, SpinRounds = 10, WorkingMemoryBytesPerWorker = 0 });
        int[] victims = cp.VictimsOf(5);
        Assert.Equal(35, victims.Length);
        Assert.Equal(new[] { 17, 29 }, victims.Take(2).OrderBy(v => v).ToArray());
        Assert.DoesNotContain(5, victims);
        Assert.Equal(35, victims.Distinct().Count());
    }

    private sealed class ThrowingWork : ISphereWork
    {
        public int Ran;
        public int ThrowAt = 7;
        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            Interlocked.Increment(ref Ran);
            if (sphereIndex == ThrowAt) throw new InvalidDataException("sphere " + sphereIndex);
        }
    }

    [Fact]
    public void An_exception_is_rethrown_after_the_epoch_drains_and_the_process_stays_usable()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 3, SpinRounds = 10 });
        var work = new ThrowingWork();
        var e = Assert.Throws<InvalidDataException>(() => cp.RunEpoch(work));
        Assert.Equal("sphere 7", e.Message);
        Assert.Equal(12, work.Ran);
        work.ThrowAt = -1;
        cp.RunEpoch(work);
        Assert.Equal(24, work.Ran);
    }

    private sealed class AllThrow : ISphereWork
    {
        public void ExecuteSphere(int sphereIndex, int workerIndex) => throw new InvalidOperationException("s" + sphereIndex);
    }

    [Fact]
    public void Several_exceptions_come_back_as_an_AggregateException()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 4, SpinRounds = 10 });
        var e = Assert.Throws<AggregateException>(() => cp.RunEpoch(new AllThrow()));
        Assert.Equal(12, e.InnerExceptions.Count);
    }

    private sealed class NestedWork(ControlProcess cp) : ISphereWork
    {
        public Exception? Seen;
        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            if (sphereIndex != 0) return;
            try { cp.RunEpoch(this); } catch (InvalidOperationException e) { Seen = e; }
        }
    }

    [Fact]
    public void Nested_epochs_and_bad_arguments_are_refused()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, SpinRounds = 10 });
        var nested = new NestedWork(cp);
        cp.RunEpoch(nested);
        Assert.NotNull(nested.Seen);
        Assert.Throws<ArgumentNullException>(() => cp.RunEpoch(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => cp.RunParallel(new CountingWork(1, 2), -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ControlProcess(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ControlProcess(2, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => cp.HomeWorkerOf(12));
    }

    [Fact]
    public void Dispose_joins_the_workers_and_later_calls_are_refused()
    {
        var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 6, SpinRounds = 10 });
        cp.RunEpoch(new CountingWork(12, 6));
        var threads = new List<Thread>();
        cp.Dispose();
        cp.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cp.RunEpoch(new CountingWork(12, 6)));
    }

    [Fact]
    public void Placement_records_whether_pinning_worked()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 3, SpinRounds = 10, WorkingMemoryBytesPerWorker = 1 << 16 });
        Assert.Equal(3, cp.Placements.Count);
        foreach (WorkerPlacement p in cp.Placements)
        {
            Assert.Equal(p.Pinned, p.PinError is null);
            Assert.True(p.Cpu >= 0);
        }
        Assert.Equal(1 << 16, cp.GetWorkingMemory(2).Length);
        using var unpinned = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, SpinRounds = 10, PinThreads = false });
        Assert.All(unpinned.Placements, p => Assert.False(p.Pinned));
    }

    [Fact]
    public void Blocking_waits_work_when_spinning_is_off()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 4, SpinRounds = 0, HierarchyDepth = 1 });
        var work = new CountingWork(12, 4);
        for (int e = 0; e < 200; e++) cp.RunEpoch(work);
        Assert.All(work.Runs, r => Assert.Equal(200, r));
    }

    [Fact]
    public void Skewed_load_is_stolen_when_stealing_is_on()
    {
        // Worker 0 owns every heavy sphere; idle workers must take some of them.
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 2, SpinRounds = 200 });
        var work = new CountingWork(144, 2) { Spin = 2000 };
        for (int e = 0; e < 3; e++) cp.RunEpoch(work);
        Assert.All(work.Runs, r => Assert.Equal(3, r));
        // Not asserting a count: on a loaded machine one worker may legitimately do everything.
        SphereCounters t = cp.Statistics.WorkerTotals();
        Assert.Equal(t.StealsTaken, t.StealsGiven);
    }
    /// <summary>
    /// Sphere 1, when it runs on worker 1, waits until spheres 3, 5, 7, 9, 11 (the rest of worker 1's
    /// deal) have finished elsewhere: only a thief can run them, so with stealing on the wait ends,
    /// with stealing off it times out. Worker 0 is the caller and owns the even spheres.
    /// </summary>
    private sealed class HostageWork : ISphereWork
    {
        public readonly int[] RanOn = Enumerable.Repeat(-1, 12).ToArray();
        public int Done;
        public bool TimedOut;
        public int Timeout = 10_000;

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            if (sphereIndex == 1 && workerIndex == 1)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                while (!(Volatile.Read(ref RanOn[3]) >= 0 && Volatile.Read(ref RanOn[5]) >= 0 && Volatile.Read(ref RanOn[7]) >= 0
                         && Volatile.Read(ref RanOn[9]) >= 0 && Volatile.Read(ref RanOn[11]) >= 0))
                {
                    if (sw.ElapsedMilliseconds > Timeout) { TimedOut = true; break; }
                    Thread.Sleep(1);
                }
            }
            Volatile.Write(ref RanOn[sphereIndex], workerIndex);
            Interlocked.Increment(ref Done);
        }
    }

    [Fact]
    public void A_blocked_workers_remaining_spheres_are_stolen()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 100 });
        var work = new HostageWork();
        cp.RunEpoch(work);
        Assert.False(work.TimedOut);
        Assert.Equal(12, work.Done);
        if (work.RanOn[1] == 1)
        {
            // Worker 1 was held on sphere 1 while the caller took the rest of its deal.
            foreach (int s in new[] { 3, 5, 7, 9, 11 }) Assert.Equal(0, work.RanOn[s]);
            Assert.True(cp.Statistics.Worker(0).StealsTaken >= 5);
            Assert.True(cp.Statistics.Worker(1).StealsGiven >= 5);
        }
        else
        {
            // Worker 1 had not woken yet: the caller claimed its whole share.
            Assert.True(cp.Statistics.Worker(0).StealsTaken >= 6);
        }
    }

    [Fact]
    public void Without_stealing_a_workers_deal_stays_with_it()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 100, EnableWorkStealing = false });
        var work = new HostageWork { Timeout = 200 };
        cp.RunEpoch(work);
        Assert.True(work.TimedOut); // nobody else may run spheres 3 … 11
        for (int s = 0; s < 12; s++) Assert.Equal(s % 2, work.RanOn[s]);
        Assert.Equal(0, cp.Statistics.WorkerTotals().StealsTaken);
    }
}

[CollectionDefinition(nameof(AllocationSensitive), DisableParallelization = true)]
public sealed class AllocationSensitive;

/// <summary>Runs alone so that the process-wide allocation counter sees only the scheduler.</summary>
[Collection(nameof(AllocationSensitive))]
public class ControlProcessAllocationTests
{
    /// <summary>Samples each worker thread's own allocation counter from inside the work items.</summary>
    private sealed class SamplingWork(int workers) : ISphereWork, IParallelWork
    {
        public readonly long[] First = Enumerable.Repeat(-1L, workers).ToArray();
        public readonly long[] Last = new long[workers];
        public bool Sampling;

        public void ExecuteSphere(int sphereIndex, int workerIndex) => Sample(workerIndex);
        public void ExecuteItem(int itemIndex, int workerIndex) => Sample(workerIndex);

        private void Sample(int w)
        {
            if (!Sampling) return;
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (First[w] < 0) First[w] = now;
            Last[w] = now;
        }
    }

    [Theory]
    [InlineData(2, 1, true, false, true)]
    [InlineData(3, 2, true, true, false)]
    [InlineData(13, 1, false, true, true)]
    [InlineData(4, 1, true, true, true)]
    public void Steady_state_epochs_allocate_nothing(int workers, int depth, bool stealing, bool timings, bool caller)
    {
        using var cp = new ControlProcess(new ControlProcessOptions
        {
            WorkerCount = workers, HierarchyDepth = depth, EnableWorkStealing = stealing, CollectTimings = timings, SpinRounds = 20, UseCallingThread = caller,
        });
        var work = new SamplingWork(workers);
        for (int e = 0; e < 200; e++) { cp.RunEpoch(work); cp.RunParallel(work, 1000); }
        work.Sampling = true;
        long thread0 = GC.GetAllocatedBytesForCurrentThread();
        long total0 = GC.GetTotalAllocatedBytes(precise: true);
        for (int e = 0; e < 2000; e++) { cp.RunEpoch(work); cp.RunParallel(work, 1000); }
        long thread1 = GC.GetAllocatedBytesForCurrentThread();
        long total1 = GC.GetTotalAllocatedBytes(precise: true);
        Assert.Equal(0, thread1 - thread0);
        // Each worker thread, from its first sampled item to its last, allocated nothing: this covers
        // the worker loop, its waits (spin and block), stealing and the statistics.
        for (int w = 0; w < workers; w++)
        {
            if (work.First[w] >= 0) Assert.Equal(0, work.Last[w] - work.First[w]);
        }
        // The process-wide counter also sees the test host's own threads (result reporting), so it is
        // only bounded: 4000 fork-joins allocating even 64 bytes each would exceed it.
        Assert.True(total1 - total0 < 256_000, $"process-wide allocation during 4000 epochs: {total1 - total0} bytes");
    }
}

public class RunOnEachWorkerTests
{
    private sealed class ThreadRecorder(int workers) : IParallelWork
    {
        public readonly int[] ThreadOf = new int[workers];
        public readonly int[] Runs = new int[workers];
        public int Mismatch;

        public void ExecuteItem(int itemIndex, int workerIndex)
        {
            if (itemIndex != workerIndex) Interlocked.Increment(ref Mismatch);
            ThreadOf[itemIndex] = Environment.CurrentManagedThreadId;
            Interlocked.Increment(ref Runs[itemIndex]);
        }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(5, false)]
    [InlineData(24, true)]
    public void Each_worker_runs_its_own_item_on_its_own_thread(int workers, bool caller)
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, UseCallingThread = caller, SpinRounds = 10 });
        for (int round = 0; round < 20; round++)
        {
            var rec = new ThreadRecorder(workers);
            cp.RunOnEachWorker(rec);
            Assert.Equal(0, rec.Mismatch);
            Assert.All(rec.Runs, r => Assert.Equal(1, r));
            Assert.Equal(workers, rec.ThreadOf.Distinct().Count());
            if (caller) Assert.Equal(Environment.CurrentManagedThreadId, rec.ThreadOf[0]);
            else Assert.DoesNotContain(Environment.CurrentManagedThreadId, rec.ThreadOf);
            cp.RunEpoch(new NoSphere()); // interleave with ordinary epochs (stragglers from one must not steal the other)
        }
    }

    private sealed class NoSphere : ISphereWork
    {
        public void ExecuteSphere(int sphereIndex, int workerIndex) => Thread.SpinWait(50);
    }
}
