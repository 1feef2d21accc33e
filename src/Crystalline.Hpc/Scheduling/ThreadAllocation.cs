using System.Text;

namespace Crystalline.Hpc.Scheduling;

/// <summary>
/// Maps N physical worker threads onto the 12 symmetry groups (LATTICE_MATH.md, "Thread allocation").
/// Below 12 threads the <see cref="ThreadAllocationStrategy"/> decides: round robin (the default and
/// the specification's: thread t owns groups {t, t+N, t+2N, …} &lt; 12), contiguous blocks, or spread
/// over NUMA nodes first. At 12 and above, threads 0–11 own one group each (thread g owns group g)
/// and threads 12… own none (they serve deeper levels or steal), whatever the strategy. Every group
/// 0–11 is owned by exactly one thread whatever N and the strategy are.
/// </summary>
public sealed class ThreadAllocation
{
    /// <summary>The number of symmetry groups (kissing spheres) at every level.</summary>
    public const int SymmetryGroupCount = 12;

    private readonly int[] _ownerOfGroup;
    private readonly int[][] _groupsOfThread;
    private readonly int[]? _nodeOfThread;

    /// <summary>Builds the allocation for <paramref name="threadCount"/> physical threads.</summary>
    /// <param name="threadCount">Worker threads (≥ 1).</param>
    /// <param name="strategy">How groups are dealt below 12 threads. <see cref="ThreadAllocationStrategy.NumaSpread"/>
    /// reads the NUMA node of each worker's CPU from <see cref="Platform.PlatformServices.Current"/>: worker t on
    /// the t-th CPU of the calling thread's affinity mask (wrapping), as <see cref="ControlProcess"/> pins them.</param>
    /// <exception cref="ArgumentOutOfRangeException">threadCount is zero or negative, or strategy is not defined.</exception>
    public ThreadAllocation(int threadCount, ThreadAllocationStrategy strategy = ThreadAllocationStrategy.RoundRobin)
        : this(threadCount, strategy, strategy == ThreadAllocationStrategy.NumaSpread && threadCount > 0 ? PlatformNodeMap(threadCount) : default)
    {
    }

    /// <summary>Builds the allocation with an explicit NUMA node per thread (used by <see cref="ThreadAllocationStrategy.NumaSpread"/>; ignored by the others; empty: every thread on node 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">threadCount ≤ 0, an undefined strategy, or a negative node.</exception>
    /// <exception cref="ArgumentException">numaNodeOfThread is neither empty nor threadCount long.</exception>
    internal ThreadAllocation(int threadCount, ThreadAllocationStrategy strategy, ReadOnlySpan<int> numaNodeOfThread)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threadCount);
        if (!Enum.IsDefined(strategy)) throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "unknown thread allocation strategy");
        if (!numaNodeOfThread.IsEmpty && numaNodeOfThread.Length != threadCount)
            throw new ArgumentException($"the NUMA node map has {numaNodeOfThread.Length} entries for {threadCount} threads", nameof(numaNodeOfThread));
        foreach (int node in numaNodeOfThread) ArgumentOutOfRangeException.ThrowIfNegative(node, nameof(numaNodeOfThread));
        ThreadCount = threadCount;
        Strategy = strategy;
        if (strategy == ThreadAllocationStrategy.NumaSpread)
            _nodeOfThread = numaNodeOfThread.IsEmpty ? new int[threadCount] : numaNodeOfThread.ToArray();
        _ownerOfGroup = new int[SymmetryGroupCount];
        for (int g = 0; g < SymmetryGroupCount; g++)
            _ownerOfGroup[g] = threadCount >= SymmetryGroupCount ? g : strategy switch
            {
                ThreadAllocationStrategy.Block => BlockOwner(g, threadCount),
                ThreadAllocationStrategy.NumaSpread => -1, // below
                _ => g % threadCount,
            };
        if (strategy == ThreadAllocationStrategy.NumaSpread && threadCount < SymmetryGroupCount) DealOverNodes(_ownerOfGroup, _nodeOfThread!);
        var lists = new List<int>[threadCount];
        for (int t = 0; t < threadCount; t++) lists[t] = new List<int>();
        for (int g = 0; g < SymmetryGroupCount; g++) lists[_ownerOfGroup[g]].Add(g);
        _groupsOfThread = new int[threadCount][];
        for (int t = 0; t < threadCount; t++) _groupsOfThread[t] = lists[t].ToArray();
    }

    /// <summary>The owner of group g in blocks: the t with ⌊12t/N⌋ ≤ g &lt; ⌊12(t+1)/N⌋ (N &lt; 12, so every block holds at least one group).</summary>
    private static int BlockOwner(int group, int threadCount)
    {
        for (int t = 0; t < threadCount; t++)
            if (group < SymmetryGroupCount * (t + 1) / threadCount) return t;
        throw new InvalidOperationException("unreachable: the last block ends at 12");
    }

    /// <summary>
    /// Round robin over the threads taken node by node: the first thread of each node (nodes by
    /// ascending id), then the second of each node that has one, and so on; group g goes to the
    /// (g mod N)-th thread of that order. With the same number of threads on every node this is
    /// "group g to node g mod K, then the ⌊g/K⌋-th group of a node to its threads in turn"; with
    /// uneven nodes every thread still gets ⌊12/N⌋ or ⌈12/N⌉ groups, as in round robin, where dealing
    /// 12/K groups to each node would idle threads of a crowded node and overload a sparse one.
    /// </summary>
    private static void DealOverNodes(int[] ownerOfGroup, int[] nodeOfThread)
    {
        int n = nodeOfThread.Length;
        int[][] threadsOf = nodeOfThread.Distinct().Order()
            .Select(node => Enumerable.Range(0, n).Where(t => nodeOfThread[t] == node).ToArray()).ToArray();
        var order = new List<int>(n);
        for (int round = 0; order.Count < n; round++)
            foreach (int[] threads in threadsOf)
                if (round < threads.Length) order.Add(threads[round]);
        for (int g = 0; g < SymmetryGroupCount; g++) ownerOfGroup[g] = order[g % n];
    }

    /// <summary>The NUMA node of worker t: the node of the t-th CPU (wrapping) of the calling thread's affinity mask — the CPU ControlProcess pins worker t to.</summary>
    internal static int[] PlatformNodeMap(int threadCount)
    {
        Platform.IPlatform platform = Platform.PlatformServices.Current;
        int[] cpus = platform.GetCurrentAffinity();
        if (cpus.Length == 0) cpus = [0];
        var nodes = new int[threadCount];
        for (int t = 0; t < threadCount; t++) nodes[t] = Math.Max(0, platform.NumaNodeOfCpu(cpus[t % cpus.Length]));
        return nodes;
    }

    /// <summary>How the groups were dealt (below 12 threads; from 12 up every strategy gives the same mapping).</summary>
    public ThreadAllocationStrategy Strategy { get; }

    /// <summary>The number of physical threads.</summary>
    public int ThreadCount { get; }

    /// <summary>The thread that owns symmetry group <paramref name="group"/> (0–11).</summary>
    public int OwnerOf(int group)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(group);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(group, SymmetryGroupCount);
        return _ownerOfGroup[group];
    }

    /// <summary>The groups thread <paramref name="thread"/> owns, ascending (empty for threads ≥ 12).</summary>
    public ReadOnlySpan<int> GroupsOf(int thread)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(thread);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(thread, ThreadCount);
        return _groupsOfThread[thread];
    }

    /// <summary>Threads that own at least one group: min(N, 12).</summary>
    public int GroupOwningThreadCount => Math.Min(ThreadCount, SymmetryGroupCount);

    /// <summary>
    /// Load-balance factor: min/max groups per group-owning thread (1.0 is perfect balance).
    /// Threads beyond 12 own no group by design and are not counted.
    /// </summary>
    public double LoadBalanceFactor
    {
        get
        {
            int min = int.MaxValue, max = 0;
            for (int t = 0; t < GroupOwningThreadCount; t++)
            {
                int n = _groupsOfThread[t].Length;
                min = Math.Min(min, n);
                max = Math.Max(max, n);
            }
            return (double)min / max;
        }
    }

    /// <summary>True when every group 0–11 is owned by exactly one thread.</summary>
    public bool Validate(out string? problem)
    {
        var seen = new int[SymmetryGroupCount];
        for (int t = 0; t < ThreadCount; t++)
            foreach (int g in _groupsOfThread[t])
            {
                if ((uint)g >= SymmetryGroupCount) { problem = $"thread {t} owns out-of-range group {g}"; return false; }
                seen[g]++;
            }
        for (int g = 0; g < SymmetryGroupCount; g++)
            if (seen[g] != 1) { problem = $"group {g} is owned by {seen[g]} threads"; return false; }
        problem = null;
        return true;
    }

    /// <summary>A readable table of the mapping, one line per thread.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("Thread allocation (").Append(ThreadAllocationStrategyNames.ToName(Strategy)).Append("): ").Append(ThreadCount).Append(" thread(s) -> 12 symmetry groups, load factor ")
          .Append(LoadBalanceFactor.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)).AppendLine();
        for (int t = 0; t < ThreadCount; t++)
        {
            sb.Append("  thread ").Append(t.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(3));
            if (_nodeOfThread is not null) sb.Append(" (node ").Append(_nodeOfThread[t].ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(')');
            sb.Append(": ");
            if (_groupsOfThread[t].Length == 0) sb.AppendLine("(no group: deeper levels / work stealing)");
            else sb.AppendLine("groups " + string.Join(", ", _groupsOfThread[t]));
        }
        return sb.ToString();
    }
}
