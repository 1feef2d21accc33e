using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

public class ThreadAllocationTests
{
    // Expected tables written out by hand from LATTICE_MATH.md's rule, not computed by the same code.
    [Theory]
    [InlineData(1, "0,1,2,3,4,5,6,7,8,9,10,11")]
    [InlineData(2, "0,2,4,6,8,10|1,3,5,7,9,11")]
    [InlineData(3, "0,3,6,9|1,4,7,10|2,5,8,11")]
    [InlineData(4, "0,4,8|1,5,9|2,6,10|3,7,11")]
    [InlineData(6, "0,6|1,7|2,8|3,9|4,10|5,11")]
    [InlineData(8, "0,8|1,9|2,10|3,11|4|5|6|7")]
    [InlineData(12, "0|1|2|3|4|5|6|7|8|9|10|11")]
    public void Table_matches_the_rule(int n, string expected)
    {
        var alloc = new ThreadAllocation(n);
        string actual = string.Join("|", Enumerable.Range(0, n).Select(t => string.Join(",", alloc.GroupsOf(t).ToArray())));
        Assert.Equal(expected, actual);
        Assert.True(alloc.Validate(out string? problem), problem);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(48)]
    public void Above_twelve_threads_one_group_each_and_extras_own_none(int n)
    {
        var alloc = new ThreadAllocation(n);
        for (int t = 0; t < 12; t++) Assert.Equal(new[] { t }, alloc.GroupsOf(t).ToArray());
        for (int t = 12; t < n; t++) Assert.Equal(0, alloc.GroupsOf(t).Length);
        for (int g = 0; g < 12; g++) Assert.Equal(g, alloc.OwnerOf(g));
        Assert.Equal(1.0, alloc.LoadBalanceFactor);
        Assert.True(alloc.Validate(out _));
    }

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(5, 2.0 / 3.0)]
    [InlineData(8, 0.5)]
    [InlineData(7, 0.5)]
    [InlineData(12, 1.0)]
    public void Load_factor_is_min_over_max(int n, double expected)
        => Assert.Equal(expected, new ThreadAllocation(n).LoadBalanceFactor, 12);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Bad_thread_count_is_rejected(int n)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadAllocation(n));

    [Fact]
    public void Describe_names_every_thread()
    {
        string text = new ThreadAllocation(16).Describe();
        Assert.Contains("thread  15", text);
        Assert.Contains("groups 0, 1", new ThreadAllocation(11).Describe());
    }

    private static string Table(ThreadAllocation alloc) =>
        string.Join("|", Enumerable.Range(0, alloc.ThreadCount).Select(t => string.Join(",", alloc.GroupsOf(t).ToArray())));

    // Written out by hand from the rules (ThreadAllocationStrategy's docs):
    //   round robin  N = 5: t owns {t, t+5, t+10}
    //   block        N = 5: ⌊12t/5⌋ … ⌊12(t+1)/5⌋−1 = 0–1 | 2–3 | 4–6 | 7–8 | 9–11
    //   numa-spread  threads ordered node by node (first of each node, then second of each, …), groups dealt over that order:
    //     nodes 0,0,1,1,1 → order 0,2,1,3,4;  nodes 0,1,0,1,0 → order 0,1,2,3,4 (round robin);
    //     nodes 3,1,3,1,3 → node ids sorted (1, 3) → order 1,0,3,2,4;
    //     N = 4, nodes 0,0,1,1 → order 0,2,1,3: even groups on node 0 (threads 0, 1 in turn), odd on node 1 (2, 3 in turn)
    [Theory]
    [InlineData(5, ThreadAllocationStrategy.RoundRobin, "", "0,5,10|1,6,11|2,7|3,8|4,9")]
    [InlineData(5, ThreadAllocationStrategy.Block, "", "0,1|2,3|4,5,6|7,8|9,10,11")]
    [InlineData(5, ThreadAllocationStrategy.NumaSpread, "0,0,0,0,0", "0,5,10|1,6,11|2,7|3,8|4,9")]
    [InlineData(5, ThreadAllocationStrategy.NumaSpread, "0,0,1,1,1", "0,5,10|2,7|1,6,11|3,8|4,9")]
    [InlineData(5, ThreadAllocationStrategy.NumaSpread, "0,1,0,1,0", "0,5,10|1,6,11|2,7|3,8|4,9")]
    [InlineData(5, ThreadAllocationStrategy.NumaSpread, "3,1,3,1,3", "1,6,11|0,5,10|3,8|2,7|4,9")]
    [InlineData(4, ThreadAllocationStrategy.NumaSpread, "0,0,1,1", "0,4,8|2,6,10|1,5,9|3,7,11")]
    [InlineData(4, ThreadAllocationStrategy.Block, "", "0,1,2|3,4,5|6,7,8|9,10,11")]
    [InlineData(7, ThreadAllocationStrategy.Block, "", "0|1,2|3,4|5|6,7|8,9|10,11")] // ⌊12t/7⌋ = 0, 1, 3, 5, 6, 8, 10, 12
    public void Tables_match_the_hand_written_ones_for_every_strategy(int n, ThreadAllocationStrategy strategy, string nodes, string expected)
    {
        int[] map = nodes.Length == 0 ? [] : nodes.Split(',').Select(int.Parse).ToArray();
        var alloc = new ThreadAllocation(n, strategy, map);
        Assert.Equal(expected, Table(alloc));
        Assert.Equal(strategy, alloc.Strategy);
        for (int t = 0; t < n; t++)
            foreach (int g in alloc.GroupsOf(t)) Assert.Equal(t, alloc.OwnerOf(g));
        if (strategy != ThreadAllocationStrategy.NumaSpread) Assert.Equal(expected, Table(new ThreadAllocation(n, strategy)));
    }

    public static TheoryData<ThreadAllocationStrategy, string> StrategiesAndNodeMaps() => new()
    {
        { ThreadAllocationStrategy.RoundRobin, "none" },
        { ThreadAllocationStrategy.Block, "none" },
        { ThreadAllocationStrategy.NumaSpread, "platform" },
        { ThreadAllocationStrategy.NumaSpread, "alternating-2" },
        { ThreadAllocationStrategy.NumaSpread, "halves" },
        { ThreadAllocationStrategy.NumaSpread, "lopsided-3" },
    };

    private static int[] NodeMap(string kind, int n) => kind switch
    {
        "alternating-2" => Enumerable.Range(0, n).Select(t => t % 2).ToArray(),
        "halves" => Enumerable.Range(0, n).Select(t => t < (n + 1) / 2 ? 0 : 1).ToArray(),
        "lopsided-3" => Enumerable.Range(0, n).Select(t => t == 0 ? 5 : t % 3 == 0 ? 2 : 7).ToArray(),
        _ => [],
    };

    [Theory]
    [MemberData(nameof(StrategiesAndNodeMaps))]
    public void Every_strategy_covers_each_group_exactly_once_for_1_to_48_threads(ThreadAllocationStrategy strategy, string nodes)
    {
        for (int n = 1; n <= 48; n++)
        {
            var alloc = nodes == "platform" ? new ThreadAllocation(n, strategy) : new ThreadAllocation(n, strategy, NodeMap(nodes, n));
            Assert.True(alloc.Validate(out string? problem), $"{strategy}/{nodes}, N = {n}: {problem}");
            var owners = new int[12];
            Array.Fill(owners, -1);
            for (int t = 0; t < n; t++)
                foreach (int g in alloc.GroupsOf(t))
                {
                    Assert.Equal(-1, owners[g]);
                    owners[g] = t;
                }
            for (int g = 0; g < 12; g++)
            {
                Assert.Equal(owners[g], alloc.OwnerOf(g));
                Assert.InRange(owners[g], 0, Math.Min(n, 12) - 1); // threads ≥ 12 own none
            }
            for (int t = 0; t < n; t++)
            {
                Assert.True(alloc.GroupsOf(t).ToArray().SequenceEqual(alloc.GroupsOf(t).ToArray().Order()), "groups ascending");
                if (t < 12) Assert.NotEqual(0, alloc.GroupsOf(t).Length); // below 12 threads nobody idles; from 12 up threads 0–11 own one each
                else Assert.Equal(0, alloc.GroupsOf(t).Length);
            }
            if (n >= 12)
                for (int g = 0; g < 12; g++) Assert.Equal(g, alloc.OwnerOf(g)); // the specification's mapping whatever the strategy
        }
    }

    [Fact]
    public void Block_keeps_sibling_groups_together_and_round_robin_spreads_them()
    {
        // With 6 threads, block pairs groups (0,1), (2,3) …; round robin pairs (0,6), (1,7) ….
        Assert.Equal("0,1|2,3|4,5|6,7|8,9|10,11", Table(new ThreadAllocation(6, ThreadAllocationStrategy.Block)));
        Assert.Equal("0,6|1,7|2,8|3,9|4,10|5,11", Table(new ThreadAllocation(6)));
        Assert.Equal("0,1,2,3|4,5,6,7|8,9,10,11", Table(new ThreadAllocation(3, ThreadAllocationStrategy.Block)));
        Assert.Equal(0.5, new ThreadAllocation(7, ThreadAllocationStrategy.Block).LoadBalanceFactor, 12); // 1 or 2 groups each, as round robin
    }

    [Fact]
    public void Numa_spread_on_this_machine_uses_the_platform_node_of_each_worker_cpu()
    {
        for (int n = 1; n <= 13; n++)
        {
            int[] map = ThreadAllocation.PlatformNodeMap(n);
            var fromPlatform = new ThreadAllocation(n, ThreadAllocationStrategy.NumaSpread);
            Assert.Equal(Table(new ThreadAllocation(n, ThreadAllocationStrategy.NumaSpread, map)), Table(fromPlatform));
            // A single-node machine (this VM): the same as round robin.
            if (map.Distinct().Count() == 1) Assert.Equal(Table(new ThreadAllocation(n)), Table(fromPlatform));
        }
    }

    [Fact]
    public void Bad_strategy_or_node_map_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadAllocation(4, (ThreadAllocationStrategy)7));
        Assert.Throws<ArgumentException>(() => new ThreadAllocation(4, ThreadAllocationStrategy.NumaSpread, [0, 1, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadAllocation(4, ThreadAllocationStrategy.NumaSpread, [0, -1, 0, 1]));
        var options = new ControlProcessOptions { WorkerCount = 2, AllocationStrategy = (ThreadAllocationStrategy)3 };
        Assert.Throws<ArgumentOutOfRangeException>(() => new ControlProcess(options));
    }

    [Fact]
    public void Describe_names_the_strategy_and_numa_spread_the_node_of_each_thread()
    {
        Assert.StartsWith("Thread allocation (round-robin): 5 thread(s)", new ThreadAllocation(5).Describe(), StringComparison.Ordinal);
        Assert.Contains("thread   2: groups 4, 5, 6", new ThreadAllocation(5, ThreadAllocationStrategy.Block).Describe(), StringComparison.Ordinal);
        string numa = new ThreadAllocation(5, ThreadAllocationStrategy.NumaSpread, [0, 0, 1, 1, 1]).Describe();
        Assert.StartsWith("Thread allocation (numa-spread):", numa, StringComparison.Ordinal);
        Assert.Contains("thread   2 (node 1): groups 1, 6, 11", numa, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("round-robin", ThreadAllocationStrategy.RoundRobin)]
    [InlineData("block", ThreadAllocationStrategy.Block)]
    [InlineData("numa-spread", ThreadAllocationStrategy.NumaSpread)]
    public void Strategy_names_round_trip(string name, ThreadAllocationStrategy strategy)
    {
        Assert.True(ThreadAllocationStrategyNames.TryParse(name, out var parsed));
        Assert.Equal(strategy, parsed);
        Assert.Equal(name, ThreadAllocationStrategyNames.ToName(strategy));
        Assert.False(ThreadAllocationStrategyNames.TryParse(name.ToUpperInvariant(), out _));
        Assert.False(ThreadAllocationStrategyNames.TryParse("compact", out _));
    }

    [Theory]
    [InlineData(ThreadAllocationStrategy.RoundRobin, 1, "0,5,10|1,6,11|2,7|3,8|4,9")]
    [InlineData(ThreadAllocationStrategy.Block, 1, "0,1|2,3|4,5,6|7,8|9,10,11")]
    [InlineData(ThreadAllocationStrategy.Block, 2, "0,1|2,3|4,5,6|7,8|9,10,11")]
    public void Control_process_deals_leaves_by_the_strategy_of_its_options(ThreadAllocationStrategy strategy, int depth, string groupsOfWorker)
    {
        var options = new ControlProcessOptions { WorkerCount = 5, HierarchyDepth = depth, SpinRounds = 50, AllocationStrategy = strategy };
        using var cp = new ControlProcess(options);
        options.AllocationStrategy = ThreadAllocationStrategy.NumaSpread; // the control process keeps its own copy
        Assert.Equal(strategy, cp.Allocation.Strategy);
        Assert.Equal(groupsOfWorker, Table(cp.Allocation));
        int perGroup = depth == 1 ? 1 : 12;
        for (int s = 0; s < cp.SphereCount; s++) Assert.Equal(cp.Allocation.OwnerOf(s / perGroup), cp.HomeWorkerOf(s));
    }
}
