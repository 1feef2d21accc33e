using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

public class SphereHierarchyTests
{
    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(1, 12, 13)]
    [InlineData(2, 144, 157)]
    [InlineData(3, 1728, 1885)]
    [InlineData(4, 20736, 22621)]
    public void Uniform_tree_has_12_to_the_d_leaves_and_every_group_covered(int depth, int leaves, int spheres)
    {
        var h = new SphereHierarchy(new SphereHierarchyLimits { MaxDepth = 4, ThreadQuota = 1 });
        Assert.True(h.TrySpawnToDepth(depth, out string? why), why);
        Assert.Equal(leaves, h.Leaves.Count);
        Assert.Equal(spheres, h.SphereCount);
        Assert.Equal(depth, h.Depth);
        Assert.True(h.Validate(out string? problem), problem);
        // Every group is covered exactly once at every level: leaf paths are all distinct base-12
        // numbers 0 … 12^d − 1, in order.
        for (int i = 0; i < h.Leaves.Count; i++)
        {
            SphereNode leaf = h.Leaves[i];
            Assert.Equal(i, leaf.LeafIndex);
            Assert.Equal(depth, leaf.Level);
            int value = 0;
            foreach (int g in leaf.Path()) value = value * 12 + g;
            Assert.Equal(i, value);
        }
    }

    [Fact]
    public void Links_parent_child_sibling_agree()
    {
        var h = new SphereHierarchy();
        Assert.True(h.TrySpawnToDepth(2, out _));
        SphereNode s3 = h.Root.Children[3];
        Assert.Equal(3, s3.Group);
        Assert.Same(h.Root, s3.Parent);
        Assert.Same(h.Root.Children[7], s3.Sibling(7));
        Assert.Same(s3, s3.Sibling(3));
        SphereNode c = s3.Children[5];
        Assert.Equal(new[] { 3, 5 }, c.Path());
        Assert.True(c.IsNeighbourOf(s3));
        Assert.True(s3.IsNeighbourOf(c));
        Assert.True(c.IsNeighbourOf(s3.Children[11]));
        Assert.False(c.IsNeighbourOf(h.Root.Children[4].Children[5])); // a cousin
        Assert.False(c.IsNeighbourOf(h.Root)); // the grandparent
        Assert.Throws<InvalidOperationException>(() => h.Root.Sibling(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Sibling(12));
    }

    [Fact]
    public void Spawning_respects_the_depth_limit()
    {
        var h = new SphereHierarchy(new SphereHierarchyLimits { MaxDepth = 1 });
        Assert.True(h.TrySpawnChildren(h.Root, out _));
        Assert.False(h.TrySpawnChildren(h.Root.Children[0], out string? why));
        Assert.Contains("depth limit", why);
        Assert.Equal(12, h.Leaves.Count);
        Assert.False(h.TrySpawnToDepth(2, out _));
        Assert.True(h.Validate(out string? problem), problem);
        Assert.Throws<ArgumentException>(() => h.TrySpawnChildren(h.Root, out _)); // already has children
    }

    [Fact]
    public void Spawning_respects_the_thread_quota()
    {
        // 2 threads × 30 leaves = 60: the 12 spheres fit, then 12 − 1 + 12 = 23, 34, 45, 56; the fifth family (67) does not.
        var h = new SphereHierarchy(new SphereHierarchyLimits { ThreadQuota = 2, MaxLeavesPerThread = 30 });
        Assert.True(h.TrySpawnChildren(h.Root, out _));
        int spawned = 0;
        string? why = null;
        foreach (SphereNode s in h.Root.Children.ToArray())
        {
            if (!h.TrySpawnChildren(s, out why)) break;
            spawned++;
        }
        Assert.Equal(4, spawned);
        Assert.Contains("thread quota", why);
        Assert.Equal(56, h.Leaves.Count);
        Assert.True(h.Validate(out string? problem), problem);
    }

    [Fact]
    public void Spawning_respects_the_memory_quota_and_is_all_or_nothing()
    {
        // 1 KiB per sphere, 30 KiB: root + 12 = 13 spheres fit, a second family (25) does not.
        var h = new SphereHierarchy(new SphereHierarchyLimits { BytesPerSphere = 1024, MemoryQuotaBytes = 30 * 1024 });
        Assert.True(h.TrySpawnChildren(h.Root, out _));
        Assert.True(h.TrySpawnChildren(h.Root.Children[0], out _));
        Assert.False(h.TrySpawnChildren(h.Root.Children[1], out string? why));
        Assert.Contains("memory quota", why);
        Assert.Equal(25, h.SphereCount);
        Assert.Equal(25 * 1024, h.ReservedBytes);
        Assert.True(h.Root.Children[1].IsLeaf);
        Assert.True(h.Validate(out string? problem), problem);
    }

    [Fact]
    public void Termination_removes_whole_families_and_keeps_the_structure()
    {
        var h = new SphereHierarchy();
        Assert.True(h.TrySpawnToDepth(2, out _));
        SphereNode s5 = h.Root.Children[5];
        Assert.True(h.TrySpawnChildren(s5.Children[0], out _)); // uneven: one branch at depth 3
        Assert.Equal(144 - 1 + 12, h.Leaves.Count);
        Assert.True(h.Validate(out string? problem), problem);
        SphereNode gone = s5.Children[0].Children[3];
        int removed = h.TerminateChildren(s5);
        Assert.Equal(12 + 12, removed);
        Assert.False(gone.IsAlive);
        Assert.Null(h.Find(gone.Id));
        Assert.True(s5.IsLeaf);
        Assert.Equal(144 - 12 + 1, h.Leaves.Count);
        Assert.True(h.Validate(out problem), problem);
        Assert.Throws<ArgumentException>(() => h.TerminateChildren(gone));
        // It can grow again: new ids, same shape.
        Assert.True(h.TrySpawnChildren(s5, out _));
        Assert.Equal(144, h.Leaves.Count);
        Assert.True(h.Validate(out problem), problem);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(12)]
    [InlineData(48)]
    public void Rebalance_gives_every_leaf_one_worker_and_balances_within_one(int workers)
    {
        var h = new SphereHierarchy();
        Assert.True(h.TrySpawnToDepth(1, out _));
        Assert.True(h.TrySpawnChildren(h.Root.Children[2], out _));
        Assert.True(h.TrySpawnChildren(h.Root.Children[9], out _)); // 34 leaves, uneven
        int[] owner = h.Rebalance(workers);
        Assert.Equal(h.Leaves.Count, owner.Length);
        var load = new int[workers];
        foreach (int w in owner) load[w]++;
        int used = Math.Min(workers, owner.Length);
        Assert.True(load.Take(used).Max() - load.Take(used).Min() <= 1);
        Assert.Equal(owner.Length, load.Sum());
        // Contiguous: siblings stay together, owners never go backwards.
        for (int i = 1; i < owner.Length; i++) Assert.True(owner[i] >= owner[i - 1]);
    }
}

public class SphereMessengerTests
{
    [Fact]
    public void Messages_flow_between_parent_children_and_siblings_only()
    {
        var h = new SphereHierarchy();
        Assert.True(h.TrySpawnToDepth(2, out _));
        var m = new SphereMessenger(h, mailboxCapacity: 4);
        SphereNode parent = h.Root.Children[1];
        SphereNode a = parent.Children[0], b = parent.Children[1];
        Assert.True(m.TrySend(new SphereMessage(SphereMessageType.WorkDone, a.Id, parent.Id, 42)));
        Assert.True(m.TrySend(new SphereMessage(SphereMessageType.Data, a.Id, b.Id, 7)));
        Assert.True(m.TrySend(new SphereMessage(SphereMessageType.Terminate, parent.Id, b.Id, 0)));
        Assert.Throws<ArgumentException>(() => m.TrySend(new SphereMessage(SphereMessageType.Data, a.Id, h.Root.Children[2].Children[0].Id, 0)));
        Assert.Throws<ArgumentException>(() => m.TrySend(new SphereMessage(SphereMessageType.Data, a.Id, 99_999, 0)));

        Assert.True(m.TryReceive(parent.Id, out SphereMessage got));
        Assert.Equal(new SphereMessage(SphereMessageType.WorkDone, a.Id, parent.Id, 42), got);
        Assert.True(m.TryReceive(b.Id, out got));
        Assert.Equal(7, got.Payload);
        Assert.True(m.TryReceive(b.Id, out got));
        Assert.Equal(SphereMessageType.Terminate, got.Type);
        Assert.False(m.TryReceive(b.Id, out _));
        Assert.Equal(2, m.SentBy(a.Id));
        Assert.Equal(2, m.ReceivedBy(b.Id));
    }

    [Fact]
    public void A_full_mailbox_refuses_and_terminated_spheres_lose_theirs()
    {
        var h = new SphereHierarchy();
        Assert.True(h.TrySpawnToDepth(2, out _));
        var m = new SphereMessenger(h, mailboxCapacity: 2);
        SphereNode p = h.Root.Children[0], c = p.Children[0];
        Assert.True(m.TrySend(new SphereMessage(SphereMessageType.Data, p.Id, c.Id, 1)));
        Assert.True(m.TrySend(new SphereMessage(SphereMessageType.Data, p.Id, c.Id, 2)));
        Assert.False(m.TrySend(new SphereMessage(SphereMessageType.Data, p.Id, c.Id, 3)));
        Assert.Equal(2, m.Pending(c.Id));
        h.TerminateChildren(p);
        m.Synchronize();
        Assert.Throws<ArgumentException>(() => m.TryReceive(c.Id, out _));
        Assert.True(h.TrySpawnChildren(p, out _));
        m.Synchronize();
        Assert.True(m.TrySend(new SphereMessage(SphereMessageType.Rebalance, p.Id, p.Children[4].Id, 0)));
    }

    /// <summary>Every leaf sends to its parent and its next sibling during an epoch; the statistics must add up.</summary>
    private sealed class ChattyWork(ControlProcess cp) : ISphereWork
    {
        public int Failed;
        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            SphereNode me = cp.Hierarchy.Leaves[sphereIndex];
            SphereMessenger m = cp.Messenger!;
            if (!m.TrySend(new SphereMessage(SphereMessageType.WorkDone, me.Id, me.Parent!.Id, sphereIndex))) Interlocked.Increment(ref Failed);
            SphereNode next = me.Sibling((me.Group + 1) % 12);
            if (!m.TrySend(new SphereMessage(SphereMessageType.Data, me.Id, next.Id, sphereIndex))) Interlocked.Increment(ref Failed);
            cp.ReportBoundaryCrossings(sphereIndex, 1);
        }
    }

    [Fact]
    public void Messages_during_an_epoch_are_counted_per_sphere()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 3, HierarchyDepth = 2, SpinRounds = 20, MailboxCapacity = 16 });
        var work = new ChattyWork(cp);
        cp.RunEpoch(work);
        Assert.Equal(0, work.Failed);
        SphereMessenger m = cp.Messenger!;
        long parentsGot = 0;
        foreach (SphereNode s in cp.Hierarchy.Root.Children)
        {
            int got = 0;
            while (m.TryReceive(s.Id, out SphereMessage msg))
            {
                Assert.Equal(SphereMessageType.WorkDone, msg.Type);
                Assert.Same(s, cp.Hierarchy.Find(msg.Target));
                got++;
            }
            Assert.Equal(12, got);
            parentsGot += got;
        }
        for (int leaf = 0; leaf < 144; leaf++)
        {
            int id = cp.NodeIdOfSphere(leaf);
            Assert.True(m.TryReceive(id, out SphereMessage msg));
            Assert.Equal(SphereMessageType.Data, msg.Type);
            Assert.False(m.TryReceive(id, out _));
        }
        SphereCounters totals = cp.Statistics.SumOfSpheres(0, 144);
        Assert.Equal(288, totals.MessagesSent);
        Assert.Equal(144, totals.MessagesReceived); // leaves received the sibling messages; parents are not leaves
        Assert.Equal(144, totals.BoundaryCrossings);
        Assert.Equal(144, parentsGot);
        Assert.Contains("sphere 143", cp.Statistics.ToTable());
    }
}
