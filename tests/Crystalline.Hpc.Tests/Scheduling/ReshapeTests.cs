using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

/// <summary>A running control process follows its hierarchy's shape: spawning and termination, asked for
/// by work items or done directly between epochs, are dealt to the workers before the next epoch.</summary>
public class ReshapeTests
{
    /// <summary>Records which hierarchy node ran under each leaf index of one epoch.</summary>
    private sealed class NodeRecorder(ControlProcess cp) : ISphereWork
    {
        public int[] RunsByNode = new int[4096];
        public int BadWorker;
        public Action<int>? OnSphere;
        private HashSet<int> _expected = [];

        /// <summary>Runs one epoch and checks that each leaf of the shape it started with ran exactly once
        /// (requests made during the epoch reshape the tree only after it).</summary>
        public void RunAndCheck()
        {
            _expected = cp.Hierarchy.Leaves.Select(l => l.Id).ToHashSet();
            Array.Clear(RunsByNode);
            cp.RunEpoch(this);
            AssertEveryLeafRanOnce();
        }

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            if ((uint)workerIndex >= (uint)cp.WorkerCount) Interlocked.Increment(ref BadWorker);
            Interlocked.Increment(ref RunsByNode[cp.NodeIdOfSphere(sphereIndex)]);
            OnSphere?.Invoke(sphereIndex);
        }

        public void AssertEveryLeafRanOnce()
        {
            Assert.Equal(0, BadWorker);
            HashSet<int> leafIds = _expected;
            for (int id = 0; id < RunsByNode.Length; id++)
                Assert.True(RunsByNode[id] == (leafIds.Contains(id) ? 1 : 0), $"node {id} ran {RunsByNode[id]} times (leaf: {leafIds.Contains(id)})");
            Array.Clear(RunsByNode);
        }
    }

    [Fact]
    public void Spawning_between_epochs_deals_the_new_leaves_to_their_groups_owner()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 3, HierarchyDepth = 1, SpinRounds = 20 });
        SphereNode group5 = cp.Hierarchy.Leaves[5];
        Assert.True(cp.Hierarchy.TrySpawnChildren(group5, out _));
        cp.ApplyHierarchyShape();

        Assert.Equal(23, cp.SphereCount);
        Assert.Equal(2, cp.HierarchyDepth);
        Assert.Equal(1, cp.ShapeVersion);
        Assert.Equal(23, cp.Statistics.SphereCount);
        for (int s = 0; s < cp.SphereCount; s++)
        {
            SphereNode leaf = cp.Hierarchy.Leaves[s];
            int top = leaf.Level == 1 ? leaf.Group : leaf.Parent!.Group;
            Assert.Equal(cp.Allocation.OwnerOf(top), cp.HomeWorkerOf(s));
        }
        Assert.Equal(12 + 3, cp.SpheresOf(2).Length); // group 5's owner: 2, 5 → its 12 children, 8, 11

        var work = new NodeRecorder(cp);
        work.RunAndCheck();
        Assert.Equal(23, cp.Statistics.SumOfSpheres(0, 23).WorkItems);

        // The new spheres have mailboxes and may talk to their parent.
        SphereNode child = group5.Children[7];
        Assert.True(cp.Messenger!.TrySend(new SphereMessage(SphereMessageType.WorkDone, child.Id, group5.Id, 1)));
        Assert.True(cp.Messenger.TryReceive(group5.Id, out SphereMessage got));
        Assert.Equal(child.Id, got.Source);
    }

    [Fact]
    public void Work_items_spawn_and_terminate_on_demand_and_the_next_epoch_runs_the_new_shape()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 20 });
        var work = new NodeRecorder(cp);

        work.OnSphere = s => { if (s == 3 || s == 10) Assert.True(cp.RequestSpawn(s)); };
        work.RunAndCheck(); // the epoch that asked ran the old 12
        Assert.Equal(12 - 2 + 24, cp.SphereCount);
        Assert.Equal(1, cp.ShapeVersion);
        Assert.Equal(24, cp.Hierarchy.Leaves.Count(l => l.Level == 2));

        // A grandchild spawns while another leaf of group 3's family asks for that family to go.
        int groupThreeChild = cp.Hierarchy.Leaves.First(l => l.Level == 2 && l.Parent!.Group == 3).LeafIndex;
        int groupTenChild = cp.Hierarchy.Leaves.First(l => l.Level == 2 && l.Parent!.Group == 10).LeafIndex;
        work.OnSphere = s =>
        {
            if (s == groupThreeChild) Assert.True(cp.RequestTerminate(s));
            if (s == groupTenChild) Assert.True(cp.RequestSpawn(s));
        };
        work.RunAndCheck();
        Assert.True(cp.Hierarchy.Validate(out string? problem), problem);
        Assert.Equal(12 - 1 + 11 + 12, cp.SphereCount); // group 3 a leaf again; group 10: 11 children + 12 grandchildren
        Assert.Equal(3, cp.HierarchyDepth);

        work.OnSphere = null;
        for (int e = 0; e < 5; e++)
        {
            work.RunAndCheck();
        }
        Assert.Equal(2, cp.ShapeVersion);
    }

    [Fact]
    public void Refused_requests_leave_the_shape_and_say_why()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 20 });
        var work = new NodeRecorder(cp) { OnSphere = s => { if (s == 0) cp.RequestTerminate(s); } };
        work.RunAndCheck();
        work.OnSphere = null;
        Assert.Equal(12, cp.SphereCount);
        Assert.Equal(0, cp.ShapeVersion);
        Assert.Contains("12 symmetry groups", cp.LastShapeRefusal);

        // The control process allows depth 4: a chain of spawns down one branch stops there.
        for (int level = 1; level <= 4; level++)
        {
            Assert.True(cp.RequestSpawn(0));
            cp.ApplyHierarchyShape();
        }
        Assert.Equal(4, cp.HierarchyDepth);
        Assert.Contains("depth limit", cp.LastShapeRefusal);
        Assert.True(cp.Hierarchy.Validate(out string? problem), problem);
        Assert.Equal(12 + 3 * 11, cp.SphereCount);
        work.RunAndCheck();
    }

    [Fact]
    public void Spawning_on_demand_respects_the_memory_and_thread_quotas_given()
    {
        // 13 spheres (root + 12) of 1 MiB each; a family of 12 more would need 25 MiB of a 24 MiB quota.
        var memory = new SphereHierarchyLimits { MaxDepth = 3, ThreadQuota = 2, MaxLeavesPerThread = 100, BytesPerSphere = 1 << 20, MemoryQuotaBytes = 24L << 20 };
        using (var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 20, HierarchyLimits = memory }))
        {
            var work = new NodeRecorder(cp) { OnSphere = s => { if (s == 4) cp.RequestSpawn(s); } };
            work.RunAndCheck();
            Assert.Equal(12, cp.SphereCount);
            Assert.Contains("memory quota", cp.LastShapeRefusal);
            Assert.Equal(13L << 20, cp.Hierarchy.ReservedBytes);
        }
        // Thread quota: 2 threads × 12 leaves each allow one family (23 leaves), not a second (34).
        var threads = new SphereHierarchyLimits { MaxDepth = 3, ThreadQuota = 2, MaxLeavesPerThread = 12 };
        using (var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 20, HierarchyLimits = threads }))
        {
            var work = new NodeRecorder(cp) { OnSphere = s => { if (s is 0 or 1) cp.RequestSpawn(s); } };
            work.RunAndCheck();
            Assert.Equal(23, cp.SphereCount);
            Assert.Contains("thread quota", cp.LastShapeRefusal);
        }
        // Limits that do not hold the initial tree are refused up front, and the options keep their own copy.
        Assert.Throws<ArgumentOutOfRangeException>(() => new ControlProcess(new ControlProcessOptions { WorkerCount = 1, HierarchyDepth = 2, HierarchyLimits = new SphereHierarchyLimits { MaxDepth = 1 } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ControlProcess(new ControlProcessOptions { WorkerCount = 1, HierarchyLimits = new SphereHierarchyLimits { ThreadQuota = 0 } }));
    }

    [Fact]
    public void The_shape_cannot_change_from_a_work_item_or_with_a_broken_tree()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 20 });
        var work = new NodeRecorder(cp) { OnSphere = s => { if (s == 1) cp.ApplyHierarchyShape(); } };
        Assert.Throws<InvalidOperationException>(() => cp.RunEpoch(work));
        Assert.Throws<ArgumentOutOfRangeException>(() => cp.RequestSpawn(12));
        Assert.Throws<ArgumentOutOfRangeException>(() => cp.RequestTerminate(-1));

        cp.Hierarchy.TerminateChildren(cp.Hierarchy.Root);
        Assert.Throws<InvalidOperationException>(() => cp.ApplyHierarchyShape());
        Assert.True(cp.Hierarchy.TrySpawnChildren(cp.Hierarchy.Root, out _));
        cp.ApplyHierarchyShape(); // the node ids changed, the 12 groups are back
        work.OnSphere = null;
        work.RunAndCheck();
    }

    public static TheoryData<int, bool, bool> StressCases() => new()
    {
        { 1, true, true }, { 2, true, true }, { 3, false, true }, { 5, true, false }, { 13, true, true }, { 24, true, true }, { 24, false, false },
    };

    /// <summary>
    /// Hundreds of epochs whose work items spawn and terminate families at random (oversubscribed on this
    /// machine, with short spins so that workers sleep through epochs): every epoch runs every leaf of its
    /// shape exactly once. With more than 12 workers, spawning moves leaves to workers that had none — the
    /// case where a late claim of an empty share must not run the new leaves outside an epoch.
    /// </summary>
    [Theory]
    [MemberData(nameof(StressCases))]
    public void Random_reshaping_keeps_every_epoch_exactly_once(int workers, bool stealing, bool caller)
    {
        using var cp = new ControlProcess(new ControlProcessOptions
        {
            WorkerCount = workers, HierarchyDepth = 1, EnableWorkStealing = stealing, UseCallingThread = caller, SpinRounds = 5, WorkingMemoryBytesPerWorker = 0,
        });
        var work = new NodeRecorder(cp) { RunsByNode = new int[1 << 16] };
        var random = new Random(workers * 7919 + (stealing ? 1 : 0));
        int[] decisions = new int[64];
        work.OnSphere = s =>
        {
            int d = decisions[s % decisions.Length];
            if (d == 1) cp.RequestSpawn(s);
            else if (d == 2) cp.RequestTerminate(s);
        };
        int changes = 0;
        for (int epoch = 0; epoch < 300; epoch++)
        {
            for (int i = 0; i < decisions.Length; i++)
            {
                int r = random.Next(100);
                // Grow while small, shrink while large, so the shape keeps moving around a few hundred leaves.
                decisions[i] = r < (cp.SphereCount < 200 ? 4 : 1) ? 1 : r < 8 ? 2 : 0;
            }
            int before = cp.ShapeVersion;
            work.RunAndCheck();
            if (cp.ShapeVersion != before) changes++;
            Assert.True(cp.Hierarchy.Validate(out string? problem), problem);
        }
        Assert.True(changes > 30, $"only {changes} reshapes in 300 epochs");
    }
}
