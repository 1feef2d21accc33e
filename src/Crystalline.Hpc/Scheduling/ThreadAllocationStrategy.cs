namespace Crystalline.Hpc.Scheduling;

/// <summary>
/// How <see cref="ThreadAllocation"/> deals the 12 symmetry groups to N worker threads when N &lt; 12.
/// From 12 threads up every strategy gives the specification's mapping: thread g owns group g
/// (g = 0 … 11) and threads 12… own none (they serve deeper levels, see ControlProcess, or steal).
/// Whatever the strategy, every group 0–11 is owned by exactly one thread. The strategy changes
/// only where spheres run first, never the training arithmetic.
/// </summary>
public enum ThreadAllocationStrategy
{
    /// <summary>LATTICE_MATH.md's allocation and the default: thread t owns groups {t, t+N, t+2N, …} &lt; 12.</summary>
    RoundRobin = 0,

    /// <summary>Contiguous blocks: thread t owns groups ⌊12t/N⌋ … ⌊12(t+1)/N⌋ − 1, so neighbouring (sibling) groups share a thread.</summary>
    Block = 1,

    /// <summary>
    /// Spread over NUMA nodes first: the threads are ordered node by node (the first thread of each
    /// node, nodes by ascending id, then the second thread of each node, …) and the groups are dealt
    /// round robin over that order. With equal threads per node (K nodes) group g goes to node g mod K
    /// and a node's groups to its threads in turn; with uneven nodes no thread is left without a group
    /// (below 12 threads) and the load factor stays round robin's. The node of worker t is the node of
    /// the CPU it is pinned to (ControlProcess: the t-th CPU of the affinity mask, wrapping). On a
    /// single-node machine this is <see cref="RoundRobin"/>.
    /// </summary>
    NumaSpread = 2,
}

/// <summary>The command-line names of <see cref="ThreadAllocationStrategy"/>: round-robin, block, numa-spread.</summary>
public static class ThreadAllocationStrategyNames
{
    /// <summary>Every name, in enum order.</summary>
    public static IReadOnlyList<string> All { get; } = ["round-robin", "block", "numa-spread"];

    /// <summary>The command-line name of <paramref name="strategy"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">not a defined strategy.</exception>
    public static string ToName(ThreadAllocationStrategy strategy) => strategy switch
    {
        ThreadAllocationStrategy.RoundRobin => "round-robin",
        ThreadAllocationStrategy.Block => "block",
        ThreadAllocationStrategy.NumaSpread => "numa-spread",
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "unknown thread allocation strategy"),
    };

    /// <summary>Parses a command-line name (exact, lower case); false for anything else.</summary>
    public static bool TryParse(string? name, out ThreadAllocationStrategy strategy)
    {
        switch (name)
        {
            case "round-robin": strategy = ThreadAllocationStrategy.RoundRobin; return true;
            case "block": strategy = ThreadAllocationStrategy.Block; return true;
            case "numa-spread": strategy = ThreadAllocationStrategy.NumaSpread; return true;
            default: strategy = default; return false;
        }
    }
}
