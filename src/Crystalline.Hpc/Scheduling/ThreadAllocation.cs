using System.Text;

namespace Crystalline.Hpc.Scheduling;

/// <summary>
/// Maps N physical worker threads onto the 12 symmetry groups (LATTICE_MATH.md, "Thread allocation").
/// Below 12 threads, thread t owns groups {t, t+N, t+2N, …} &lt; 12 (round robin); at 12 and above,
/// threads 0–11 own one group each and threads 12… own none (they serve deeper levels or steal).
/// Every group 0–11 is owned by exactly one thread whatever N is.
/// </summary>
public sealed class ThreadAllocation
{
    /// <summary>The number of symmetry groups (kissing spheres) at every level.</summary>
    public const int SymmetryGroupCount = 12;

    private readonly int[] _ownerOfGroup;
    private readonly int[][] _groupsOfThread;

    /// <summary>Builds the allocation for <paramref name="threadCount"/> physical threads.</summary>
    /// <exception cref="ArgumentOutOfRangeException">threadCount is zero or negative.</exception>
    public ThreadAllocation(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threadCount);
        ThreadCount = threadCount;
        _ownerOfGroup = new int[SymmetryGroupCount];
        var lists = new List<int>[threadCount];
        for (int t = 0; t < threadCount; t++) lists[t] = new List<int>();
        for (int g = 0; g < SymmetryGroupCount; g++)
        {
            int owner = g % threadCount; // N >= 12: g itself; N < 12: round robin.
            _ownerOfGroup[g] = owner;
            lists[owner].Add(g);
        }
        _groupsOfThread = new int[threadCount][];
        for (int t = 0; t < threadCount; t++) _groupsOfThread[t] = lists[t].ToArray();
    }

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
        sb.Append("Thread allocation: ").Append(ThreadCount).Append(" thread(s) -> 12 symmetry groups, load factor ")
          .Append(LoadBalanceFactor.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)).AppendLine();
        for (int t = 0; t < ThreadCount; t++)
        {
            sb.Append("  thread ").Append(t.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(3)).Append(": ");
            if (_groupsOfThread[t].Length == 0) sb.AppendLine("(no group: deeper levels / work stealing)");
            else sb.AppendLine("groups " + string.Join(", ", _groupsOfThread[t]));
        }
        return sb.ToString();
    }
}
