using System.Globalization;
using System.Text;

namespace Crystalline.Hpc.Scheduling;

/// <summary>Limits on how far a <see cref="SphereHierarchy"/> may grow.</summary>
public sealed class SphereHierarchyLimits
{
    /// <summary>Deepest level a sphere may sit at (root = 0; 0 … 6). Default 4 (20736 leaves).</summary>
    public int MaxDepth { get; set; } = 4;

    /// <summary>Worker threads the spheres share (thread quota, ≥ 1). Default <see cref="Environment.ProcessorCount"/>.</summary>
    public int ThreadQuota { get; set; } = Environment.ProcessorCount;

    /// <summary>Leaf spheres one thread may carry (≥ 1). Default 20736 (depth 4 on one thread).</summary>
    public int MaxLeavesPerThread { get; set; } = 20736;

    /// <summary>Working memory every sphere reserves, in bytes (≥ 0). Default 0.</summary>
    public long BytesPerSphere { get; set; }

    /// <summary>Memory quota for all spheres together, in bytes (≥ 0). Default <see cref="long.MaxValue"/>.</summary>
    public long MemoryQuotaBytes { get; set; } = long.MaxValue;

    internal void Validate()
    {
        if (MaxDepth is < 0 or > 6) throw new ArgumentOutOfRangeException(nameof(MaxDepth), MaxDepth, "max depth must be 0 … 6");
        if (ThreadQuota < 1) throw new ArgumentOutOfRangeException(nameof(ThreadQuota), ThreadQuota, "thread quota must be ≥ 1");
        if (MaxLeavesPerThread < 1) throw new ArgumentOutOfRangeException(nameof(MaxLeavesPerThread), MaxLeavesPerThread, "leaves per thread must be ≥ 1");
        if (BytesPerSphere < 0) throw new ArgumentOutOfRangeException(nameof(BytesPerSphere), BytesPerSphere, "bytes per sphere must be ≥ 0");
        if (MemoryQuotaBytes < 0) throw new ArgumentOutOfRangeException(nameof(MemoryQuotaBytes), MemoryQuotaBytes, "memory quota must be ≥ 0");
    }

    internal SphereHierarchyLimits Clone() => (SphereHierarchyLimits)MemberwiseClone();
}

/// <summary>One sphere of the lattice hierarchy: a root, an inner sphere with exactly 12 children, or a leaf.</summary>
public sealed class SphereNode
{
    private SphereNode[] _children = [];

    internal SphereNode(int id, int level, int group, SphereNode? parent)
    {
        Id = id;
        Level = level;
        Group = group;
        Parent = parent;
    }

    /// <summary>Unique id within its hierarchy (creation order; never reused).</summary>
    public int Id { get; }

    /// <summary>Level: 0 for the root, 1 for the 12 spheres, 2 for their children …</summary>
    public int Level { get; }

    /// <summary>Symmetry group among its siblings (0 … 11); −1 for the root.</summary>
    public int Group { get; }

    /// <summary>The parent sphere (null for the root).</summary>
    public SphereNode? Parent { get; }

    /// <summary>The 12 children, ordered by group, or none for a leaf.</summary>
    public IReadOnlyList<SphereNode> Children => _children;

    /// <summary>True when the sphere has no children.</summary>
    public bool IsLeaf => _children.Length == 0;

    /// <summary>Position among the hierarchy's leaves (depth-first, by group), or −1 for an inner sphere.</summary>
    public int LeafIndex { get; internal set; } = -1;

    /// <summary>False once terminated (removed with its siblings).</summary>
    public bool IsAlive { get; internal set; } = true;

    /// <summary>The sibling in <paramref name="group"/> (itself for its own group).</summary>
    /// <exception cref="InvalidOperationException">the root has no siblings.</exception>
    /// <exception cref="ArgumentOutOfRangeException">group outside 0 … 11.</exception>
    public SphereNode Sibling(int group)
    {
        if (Parent is null) throw new InvalidOperationException("the root sphere has no siblings");
        ArgumentOutOfRangeException.ThrowIfNegative(group);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(group, ThreadAllocation.SymmetryGroupCount);
        return Parent._children[group];
    }

    /// <summary>The group path from the root, most significant first (empty for the root).</summary>
    public int[] Path()
    {
        var path = new int[Level];
        for (SphereNode? n = this; n?.Parent is not null; n = n.Parent) path[n.Level - 1] = n.Group;
        return path;
    }

    /// <summary>True when <paramref name="other"/> is this sphere's parent, child or sibling (or itself).</summary>
    public bool IsNeighbourOf(SphereNode other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return ReferenceEquals(other, this) || ReferenceEquals(other, Parent) || ReferenceEquals(other.Parent, this)
            || (Parent is not null && ReferenceEquals(other.Parent, Parent));
    }

    internal void SetChildren(SphereNode[] children) => _children = children;

    /// <inheritdoc/>
    public override string ToString() => Level == 0 ? "root" : "sphere " + string.Join(".", Path());
}

/// <summary>
/// The lattice hierarchy of spheres: one root whose 12 children are the symmetry groups, each of which
/// may spawn 12 children of its own, and so on. Every inner sphere has exactly 12 children, one per
/// group 0–11, so every level that exists covers all 12 groups with no overlap. Spheres spawn on demand
/// within a depth limit and quotas (threads × leaves per thread, memory) and terminate a whole family of
/// 12 at a time, which keeps the 12-fold structure.
/// </summary>
/// <remarks>Not thread-safe: change the shape between epochs, from the control thread.</remarks>
public sealed class SphereHierarchy
{
    private readonly SphereHierarchyLimits _limits;
    private readonly List<SphereNode?> _byId = [];
    private SphereNode[] _leaves = [];
    private int _aliveCount;
    private int _leafCount = 1;

    /// <summary>A hierarchy holding only the root; grow it with <see cref="TrySpawnChildren"/> or <see cref="TrySpawnToDepth"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">a limit is out of range.</exception>
    public SphereHierarchy(SphereHierarchyLimits? limits = null)
    {
        _limits = (limits ?? new SphereHierarchyLimits()).Clone();
        _limits.Validate();
        Root = NewNode(0, -1, null);
        if (_limits.MemoryQuotaBytes < _limits.BytesPerSphere) throw new ArgumentOutOfRangeException(nameof(limits), "the memory quota does not hold the root sphere");
        RebuildLeaves();
    }

    /// <summary>The root sphere (level 0).</summary>
    public SphereNode Root { get; }

    /// <summary>The limits the hierarchy grows within.</summary>
    public SphereHierarchyLimits Limits => _limits.Clone();

    /// <summary>Living spheres, inner ones included.</summary>
    public int SphereCount => _aliveCount;

    /// <summary>Memory reserved by living spheres: SphereCount × BytesPerSphere.</summary>
    public long ReservedBytes => _aliveCount * _limits.BytesPerSphere;

    /// <summary>The leaves in depth-first, group order (the order of <see cref="SphereNode.LeafIndex"/>).</summary>
    public IReadOnlyList<SphereNode> Leaves => _leaves;

    /// <summary>The deepest level that holds a sphere.</summary>
    public int Depth => _leaves.Max(l => l.Level);

    /// <summary>The living sphere with id <paramref name="id"/>, or null.</summary>
    public SphereNode? Find(int id) => (uint)id < (uint)_byId.Count ? _byId[id] : null;

    /// <summary>Upper bound on node ids handed out so far (for sizing per-id tables).</summary>
    public int IdBound => _byId.Count;

    /// <summary>Gives leaf <paramref name="node"/> its 12 children, all or none.</summary>
    /// <returns>False (with <paramref name="reason"/>) when the depth limit or a quota forbids it.</returns>
    /// <exception cref="ArgumentException">node is not a living leaf of this hierarchy.</exception>
    public bool TrySpawnChildren(SphereNode node, out string? reason)
    {
        bool ok = SpawnCore(node, out reason);
        if (ok) RebuildLeaves();
        return ok;
    }

    private bool SpawnCore(SphereNode node, out string? reason)
    {
        CheckOwned(node);
        if (!node.IsLeaf) throw new ArgumentException("the sphere already has its 12 children", nameof(node));
        int g = ThreadAllocation.SymmetryGroupCount;
        if (node.Level + 1 > _limits.MaxDepth)
        {
            reason = $"depth limit {_limits.MaxDepth} reached at {node}";
            return false;
        }
        long leavesAfter = _leafCount - 1L + g;
        long leafQuota = (long)_limits.ThreadQuota * _limits.MaxLeavesPerThread;
        if (leavesAfter > leafQuota)
        {
            reason = $"thread quota: {leavesAfter} leaves would exceed {_limits.ThreadQuota} threads × {_limits.MaxLeavesPerThread} leaves";
            return false;
        }
        long bytesAfter = (_aliveCount + (long)g) * _limits.BytesPerSphere;
        if (_limits.BytesPerSphere > 0 && (bytesAfter > _limits.MemoryQuotaBytes || bytesAfter < 0))
        {
            reason = $"memory quota: {bytesAfter} bytes would exceed {_limits.MemoryQuotaBytes}";
            return false;
        }
        var children = new SphereNode[g];
        for (int c = 0; c < g; c++) children[c] = NewNode(node.Level + 1, c, node);
        node.SetChildren(children);
        _leafCount += g - 1;
        reason = null;
        return true;
    }

    /// <summary>Spawns children recursively until every leaf is at <paramref name="depth"/> or a limit stops it.</summary>
    /// <returns>True when the whole tree reached <paramref name="depth"/>; false (with the first reason) when a limit stopped it.</returns>
    public bool TrySpawnToDepth(int depth, out string? reason)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        reason = null;
        try
        {
            // Level by level, so a quota stops the tree evenly rather than one branch running deep.
            for (int level = 0; level < depth; level++)
            {
                foreach (SphereNode leaf in _leaves)
                {
                    if (leaf.Level != level) continue;
                    if (!SpawnCore(leaf, out reason)) return false;
                }
                RebuildLeaves();
            }
            return true;
        }
        finally
        {
            RebuildLeaves();
        }
    }

    /// <summary>Terminates all 12 children of <paramref name="node"/> (and their descendants): it becomes a leaf again.</summary>
    /// <returns>The number of spheres terminated (0 when it was already a leaf).</returns>
    /// <exception cref="ArgumentException">node is not a living sphere of this hierarchy.</exception>
    public int TerminateChildren(SphereNode node)
    {
        CheckOwned(node);
        if (node.IsLeaf) return 0;
        int removed = 0;
        var stack = new Stack<SphereNode>(node.Children);
        while (stack.Count > 0)
        {
            SphereNode n = stack.Pop();
            foreach (SphereNode c in n.Children) stack.Push(c);
            n.IsAlive = false;
            n.LeafIndex = -1;
            _byId[n.Id] = null;
            _aliveCount--;
            removed++;
        }
        _leafCount -= CountLeaves(node) - 1;
        node.SetChildren([]);
        RebuildLeaves();
        return removed;
    }

    /// <summary>
    /// Rebalances leaves over <paramref name="workerCount"/> workers: the leaves, in depth-first order
    /// (siblings next to each other), are cut into contiguous blocks whose sizes differ by at most one,
    /// so families stay together and no sphere is split or merged.
    /// </summary>
    /// <returns>The worker of each leaf, indexed by <see cref="SphereNode.LeafIndex"/>.</returns>
    public int[] Rebalance(int workerCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workerCount);
        int n = _leaves.Length;
        var owner = new int[n];
        for (int i = 0; i < n; i++) owner[i] = (int)((long)i * workerCount / n);
        return owner;
    }

    /// <summary>Checks the invariants: links agree, every inner sphere has 12 children covering groups 0–11
    /// once each, levels increase by one, leaves are numbered 0 … L−1 in depth-first order.</summary>
    public bool Validate(out string? problem)
    {
        int leafIndex = 0, alive = 0;
        var stack = new Stack<SphereNode>();
        stack.Push(Root);
        while (stack.Count > 0)
        {
            SphereNode n = stack.Pop();
            alive++;
            if (!n.IsAlive) { problem = $"{n} is reachable but terminated"; return false; }
            if (!ReferenceEquals(Find(n.Id), n)) { problem = $"{n} is not registered under its id"; return false; }
            if (n.IsLeaf)
            {
                if (n.LeafIndex != leafIndex || !ReferenceEquals(_leaves[leafIndex], n)) { problem = $"{n} has leaf index {n.LeafIndex}, expected {leafIndex}"; return false; }
                leafIndex++;
                continue;
            }
            if (n.Children.Count != ThreadAllocation.SymmetryGroupCount) { problem = $"{n} has {n.Children.Count} children"; return false; }
            if (n.LeafIndex != -1) { problem = $"inner {n} has a leaf index"; return false; }
            for (int g = 0; g < n.Children.Count; g++)
            {
                SphereNode c = n.Children[g];
                if (c.Group != g) { problem = $"child {g} of {n} has group {c.Group}"; return false; }
                if (!ReferenceEquals(c.Parent, n)) { problem = $"{c} does not point back to {n}"; return false; }
                if (c.Level != n.Level + 1) { problem = $"{c} is at level {c.Level} under level {n.Level}"; return false; }
            }
            for (int g = n.Children.Count - 1; g >= 0; g--) stack.Push(n.Children[g]);
        }
        if (leafIndex != _leaves.Length) { problem = $"{leafIndex} leaves reachable, {_leaves.Length} listed"; return false; }
        if (_leafCount != _leaves.Length) { problem = $"leaf count {_leafCount} disagrees with {_leaves.Length} leaves"; return false; }
        if (alive != _aliveCount) { problem = $"{alive} spheres reachable, {_aliveCount} counted"; return false; }
        problem = null;
        return true;
    }

    /// <summary>Spheres per level, e.g. "1, 12, 144".</summary>
    public string Describe()
    {
        var perLevel = new SortedDictionary<int, int>();
        foreach (SphereNode? n in _byId)
            if (n is not null) perLevel[n.Level] = perLevel.GetValueOrDefault(n.Level) + 1;
        var sb = new StringBuilder();
        foreach (var (level, count) in perLevel)
            sb.Append(CultureInfo.InvariantCulture, $"level {level}: {count}  ");
        return sb.ToString().TrimEnd();
    }

    private static int CountLeaves(SphereNode node)
    {
        if (node.IsLeaf) return 1;
        int sum = 0;
        foreach (SphereNode c in node.Children) sum += CountLeaves(c);
        return sum;
    }

    private SphereNode NewNode(int level, int group, SphereNode? parent)
    {
        var n = new SphereNode(_byId.Count, level, group, parent);
        _byId.Add(n);
        _aliveCount++;
        return n;
    }

    private void CheckOwned(SphereNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!node.IsAlive || !ReferenceEquals(Find(node.Id), node)) throw new ArgumentException("the sphere is not a living sphere of this hierarchy", nameof(node));
    }

    private void RebuildLeaves()
    {
        var leaves = new List<SphereNode>();
        var stack = new Stack<SphereNode>();
        stack.Push(Root);
        while (stack.Count > 0)
        {
            SphereNode n = stack.Pop();
            if (n.IsLeaf)
            {
                n.LeafIndex = leaves.Count;
                leaves.Add(n);
                continue;
            }
            n.LeafIndex = -1;
            for (int g = n.Children.Count - 1; g >= 0; g--) stack.Push(n.Children[g]);
        }
        _leaves = leaves.ToArray();
    }
}
