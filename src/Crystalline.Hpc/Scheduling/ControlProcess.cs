using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Platform;

namespace Crystalline.Hpc.Scheduling;

/// <summary>
/// The control process: owns 12^d leaf spheres and N worker threads (pinned through
/// <see cref="PlatformServices"/>, each with NUMA-local working memory) and runs epochs, each a
/// fork-join over every leaf sphere. Leaves are dealt to workers by <see cref="ThreadAllocation"/>
/// (see <see cref="HomeWorkerOf"/>); each worker runs its leaves from its own Chase-Lev deque and, with
/// stealing on, an idle worker takes a whole sphere's work item from another worker's deque, preferring
/// workers on its NUMA node, then workers serving the same parent sphere.
/// </summary>
/// <remarks>
/// <para>Leaf numbering: leaf s written in base 12 with d digits, most significant digit first, is the
/// path from the top: the top-level group of s is s / 12^(d−1), so every subtree's leaves are contiguous.</para>
/// <para>One epoch at a time: <see cref="RunEpoch"/> and <see cref="RunParallel"/> are called from one
/// control thread (not from inside a work item). An epoch returns only after every worker has left
/// it, so it is also the epoch barrier. After the first epoch, epochs allocate no managed memory.</para>
/// </remarks>
public sealed class ControlProcess : ISphereExecutor, IDisposable
{
    private const int ModeEpoch = 0;
    private const int ModeParallel = 1;
    private const int ModeEachWorker = 2;
    private const int IdleRoundsBeforeLeaving = 64;
    // A spin round of a waiting thread (~0.3 µs) polls its cache line every Thread.SpinWait(1)
    // (~35 ns here): the line stays in the poller's cache until it is written, so polling often costs
    // nothing, and the waiter sees the change ~17 ns after it on average instead of ~150 ns.
    private const int PollsPerSpinRound = 8;
    private const int PollsBeforeStealing = 16;

    private readonly ControlProcessOptions _options;
    private readonly Worker[] _workers;
    private int[] _homeOfSphere = [];
    private int[] _leafNodeIds = [];
    private readonly SchedulerStatistics _statistics;
    private readonly WakeSignal _controlSignal = new();
    private readonly bool _stealing;
    private readonly bool _timings;
    private readonly int _spinRounds;
    private readonly bool _callerIsWorker0;
    private readonly bool _oversubscribed;

    // The state every epoch moves between cores, in native memory aligned to 128-byte line pairs so that
    // what is written together shares a line and nothing else does (a short epoch costs what its
    // cache-line transfers cost): line 0 is what the control thread publishes (epoch number, setup
    // sequence, mode, item count, target), line 1 the Done counter every worker adds to, line 2 the
    // control thread's own "running" flag. Managed fields workers read are written only when they change.
    // Done and Target only grow (Pending = Target − Done), so starting an epoch writes line 0 alone:
    // resetting a counter on line 1 would first have to fetch it back from the last worker to finish.
    private readonly AlignedBuffer<long> _hot;
    private readonly unsafe long* _hotLines; // _hot's memory; freed only after every worker has exited
    private unsafe SchedulerStatistics.Block* _sphereStats; // the statistics' memory, likewise (replaced by a reshape, between epochs)
    private readonly unsafe SchedulerStatistics.Block* _workerStats;
    // Spawn and terminate requests from work items, applied by the control thread when the epoch ends:
    // a hierarchy node id in the low 32 bits, the kind in the high ones.
    private readonly BoundedMpmcQueue<long, NoInterleaving> _shapeRequests = new(ShapeRequestCapacity);
    private const int ShapeRequestCapacity = 1024;
    private const long KindSpawn = 1L << 32;
    private const long KindTerminate = 2L << 32;
    private ISphereWork? _sphereWork;
    private IParallelWork? _parallelWork;
    private volatile bool _shutdown;
    private int _disposed;

    [ThreadStatic] private static ControlProcess? t_workerOf;

    // A "line" here is a 128-byte pair (see LinePairs): two hot lines in one pair would behave as one
    // line shared by their writers.
    private const int LongsPerLine = LinePairs.Bytes / sizeof(long);

    /// <summary>Set to the setup sequence to start an epoch (so it grows, possibly skipping), bumped to shut down.</summary>
    private unsafe ref long Epoch => ref _hotLines[0];

    /// <summary>
    /// Bumped (full fence) before the parameters of the next epoch (mode, work, item count) are written;
    /// equal to <see cref="Epoch"/> while an epoch runs. A share claimed for epoch e is filled only if
    /// this still reads e after the parameters were read (see Fill).
    /// </summary>
    private unsafe ref long SetupSeq => ref _hotLines[1];

    private unsafe ref long Mode => ref _hotLines[2];

    private unsafe ref long ParallelItemCount => ref _hotLines[3];

    /// <summary>Items finished since the control process started, over all epochs.</summary>
    private unsafe ref long Done => ref _hotLines[LongsPerLine];

    /// <summary><see cref="Done"/>'s value when the current epoch is over (control thread writes, before the epoch number).</summary>
    private unsafe ref long Target => ref _hotLines[4];

    /// <summary>Items of the current epoch not yet finished: the epoch ends at 0, thieves stop at 0 (or below,
    /// which a worker reading Target before a newer epoch's Done can see).</summary>
    private long Pending => Volatile.Read(ref Target) - Volatile.Read(ref Done);

    private unsafe ref long Running => ref _hotLines[2 * LongsPerLine];

    /// <summary>Starts the workers with default options except <paramref name="workerCount"/> and <paramref name="hierarchyDepth"/>.</summary>
    public ControlProcess(int workerCount, int hierarchyDepth = 1)
        : this(new ControlProcessOptions { WorkerCount = workerCount, HierarchyDepth = hierarchyDepth })
    {
    }

    /// <summary>Starts the worker threads; returns once every worker is placed and waiting.</summary>
    /// <exception cref="ArgumentNullException">options is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">an option is out of range (see <see cref="ControlProcessOptions"/>).</exception>
    public ControlProcess(ControlProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _hot = new AlignedBuffer<long>(4 * LongsPerLine);
        unsafe { _hotLines = LinePairs.AlignUp(_hot.Pointer); }
        _stealing = _options.EnableWorkStealing;
        _timings = _options.CollectTimings;
        _spinRounds = _options.SpinRounds;
        _callerIsWorker0 = _options.UseCallingThread;
        int n = _options.WorkerCount;
        Allocation = new ThreadAllocation(n, _options.AllocationStrategy);
        int initialLeaves = Pow12(_options.HierarchyDepth);
        Hierarchy = new SphereHierarchy(_options.HierarchyLimits ?? new SphereHierarchyLimits
        {
            // Room to spawn on demand: every worker may serve up to 12^3 leaves (or the initial tree's count).
            MaxDepth = Math.Max(_options.HierarchyDepth, 4), ThreadQuota = n, MaxLeavesPerThread = Math.Max(initialLeaves, 1728),
        });
        if (!Hierarchy.TrySpawnToDepth(_options.HierarchyDepth, out string? why))
            throw new ArgumentOutOfRangeException(nameof(options), $"the initial tree of depth {_options.HierarchyDepth} does not fit the hierarchy limits: {why}");
        int[][] leavesOf = DealLeaves(Hierarchy, Allocation, out int[] homes, out int[] nodeIds);

        IPlatform platform = PlatformServices.Current;
        int[] cpus = platform.GetCurrentAffinity();
        if (cpus.Length == 0) cpus = [0];
        // Against the CPUs this process may use (its affinity mask), not the machine's count.
        _oversubscribed = n + (_callerIsWorker0 ? 0 : 1) > cpus.Length;
        _workers = new Worker[n];
        int capacity = DequeCapacityFor(leavesOf);
        for (int w = 0; w < n; w++)
        {
            int cpu = cpus[w % cpus.Length];
            _workers[w] = new Worker(w, cpu, platform.NumaNodeOfCpu(cpu), capacity);
        }
        for (int w = 0; w < n; w++) _workers[w].Victims = VictimOrder(w, _workers);

        _statistics = new SchedulerStatistics(homes.Length, n);
        unsafe
        {
            _workerStats = _statistics.WorkerBlocks;
        }
        InstallLayout(leavesOf, homes, nodeIds);
        Messenger = _options.MailboxCapacity > 0 ? new SphereMessenger(Hierarchy, _options.MailboxCapacity, _statistics) : null;
        int firstThread = _callerIsWorker0 ? 1 : 0;
        if (_callerIsWorker0)
        {
            Worker w0 = _workers[0];
            w0.Placement = new WorkerPlacement(0, w0.Cpu, false, "worker 0 is the thread that calls RunEpoch/RunParallel; it is not pinned", w0.NumaNode);
            if (_options.WorkingMemoryBytesPerWorker > 0) w0.Memory = new AlignedBuffer<byte>(_options.WorkingMemoryBytesPerWorker, w0.NumaNode);
        }
        using var started = new CountdownEvent(n - firstThread + 1);
        started.Signal();
        for (int w = firstThread; w < n; w++)
        {
            Worker worker = _workers[w];
            worker.Thread = new Thread(() => WorkerMain(worker, started))
            {
                IsBackground = true,
                Name = "sphere-worker-" + w.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            worker.Thread.Start();
        }
        started.Wait();
        var placements = new WorkerPlacement[n];
        for (int w = 0; w < n; w++) placements[w] = _workers[w].Placement;
        Placements = placements;
        var failed = _workers.FirstOrDefault(x => x.StartError is not null);
        if (failed is not null)
        {
            Dispose();
            throw new InvalidOperationException($"worker {failed.Index} failed to start", failed.StartError);
        }
    }

    /// <inheritdoc/>
    public int WorkerCount => _workers.Length;

    /// <inheritdoc/>
    /// <remarks>The leaves of <see cref="Hierarchy"/>: 12^d for the uniform tree the control process starts
    /// with; it changes when the shape does (<see cref="ApplyHierarchyShape"/>, <see cref="RequestSpawn"/>).</remarks>
    public int SphereCount { get; private set; }

    /// <summary>The deepest level that holds a leaf: d for the uniform tree of 12^d leaves the control process starts with.</summary>
    public int HierarchyDepth { get; private set; }

    /// <summary>Bumped each time the leaves are dealt anew after a shape change (0 for the initial tree).</summary>
    public int ShapeVersion { get; private set; }

    /// <summary>Why the last spawn or terminate request could not be applied (a quota, the depth limit), or null.</summary>
    public string? LastShapeRefusal { get; private set; }

    /// <summary>True when idle workers steal.</summary>
    public bool WorkStealingEnabled => _stealing;

    /// <summary>How workers map onto the 12 symmetry groups.</summary>
    public ThreadAllocation Allocation { get; }

    /// <summary>Where each worker runs and whether pinning succeeded.</summary>
    public IReadOnlyList<WorkerPlacement> Placements { get; }

    /// <summary>The sphere hierarchy: root, the 12 spheres and their descendants down to the leaves of an epoch.
    /// Leaf sphere s of an epoch is <c>Hierarchy.Leaves[s]</c>. Change its shape only between epochs, from the
    /// control thread, and then call <see cref="ApplyHierarchyShape"/>; work items ask for changes with
    /// <see cref="RequestSpawn"/> and <see cref="RequestTerminate"/> instead.</summary>
    public SphereHierarchy Hierarchy { get; }

    /// <summary>Mailboxes between parent, child and sibling spheres (null when <see cref="ControlProcessOptions.MailboxCapacity"/> is 0).</summary>
    public SphereMessenger? Messenger { get; }

    /// <summary>The hierarchy node id of leaf sphere <paramref name="sphere"/> (for addressing messages).</summary>
    public int NodeIdOfSphere(int sphere)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sphere);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sphere, SphereCount);
        return _leafNodeIds[sphere];
    }

    /// <summary>Per-sphere and per-worker counters.</summary>
    public SchedulerStatistics Statistics => _statistics;

    /// <summary>The worker that runs leaf <paramref name="sphere"/> unless it is stolen.</summary>
    /// <exception cref="ArgumentOutOfRangeException">sphere outside 0 … SphereCount−1.</exception>
    public int HomeWorkerOf(int sphere)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sphere);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sphere, SphereCount);
        return _homeOfSphere[sphere];
    }

    /// <summary>The leaves dealt to worker <paramref name="worker"/>, ascending.</summary>
    public ReadOnlySpan<int> SpheresOf(int worker)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(worker);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(worker, WorkerCount);
        return _workers[worker].Leaves;
    }

    /// <summary>
    /// Asks for leaf <paramref name="sphere"/> to spawn its 12 children once the current epoch ends (recursive
    /// spawning on demand). Thread-safe and allocation-free: call it from a work item, or from the control
    /// thread between epochs (then it is applied when the next epoch ends, or by <see cref="ApplyHierarchyShape"/>).
    /// The control thread applies requests in arrival order within the hierarchy's limits (depth, thread and
    /// memory quotas); a refused one leaves the shape as it was and sets <see cref="LastShapeRefusal"/>.
    /// </summary>
    /// <returns>False when 1024 requests are already waiting.</returns>
    /// <exception cref="ArgumentOutOfRangeException">sphere outside 0 … SphereCount−1.</exception>
    public bool RequestSpawn(int sphere) => EnqueueShapeRequest(sphere, KindSpawn);

    /// <summary>
    /// Asks for the family of leaf <paramref name="sphere"/> — it and its 11 siblings, with their parent's other
    /// descendants — to terminate once the current epoch ends, so that the parent becomes a leaf again (the 12-fold
    /// structure is kept: a family goes as a whole). The 12 symmetry groups themselves are never terminated.
    /// Thread-safe and allocation-free, like <see cref="RequestSpawn"/>.
    /// </summary>
    /// <returns>False when 1024 requests are already waiting.</returns>
    /// <exception cref="ArgumentOutOfRangeException">sphere outside 0 … SphereCount−1.</exception>
    public bool RequestTerminate(int sphere) => EnqueueShapeRequest(sphere, KindTerminate);

    private bool EnqueueShapeRequest(int sphere, long kind)
    {
        int[] nodeIds = _leafNodeIds; // the current layout's; a reshape happens only between epochs
        ArgumentOutOfRangeException.ThrowIfNegative(sphere);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sphere, nodeIds.Length);
        return _shapeRequests.TryEnqueue(kind | (uint)nodeIds[sphere]);
    }

    /// <summary>
    /// Deals the leaves of <see cref="Hierarchy"/> to the workers again after its shape was changed directly
    /// (<see cref="SphereHierarchy.TrySpawnChildren"/>, <see cref="SphereHierarchy.TerminateChildren"/>), after
    /// applying any waiting <see cref="RequestSpawn"/>/<see cref="RequestTerminate"/> requests. Leaf s is then
    /// <c>Hierarchy.Leaves[s]</c> again; each leaf's home is the owner of its top-level group (with more than 12
    /// workers, the group's leaves are split among the workers serving it in contiguous blocks, as at start).
    /// Per-sphere statistics restart from zero for the new leaves (worker counters carry on); mailboxes are
    /// added for spawned spheres. Allocates; call it between epochs from the control thread, not while another
    /// thread reads <see cref="Statistics"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">called from a work item or during an epoch; the hierarchy's
    /// invariants do not hold; or the 12 symmetry groups are not all present.</exception>
    /// <exception cref="ObjectDisposedException">the control process was disposed.</exception>
    public void ApplyHierarchyShape()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (t_workerOf == this) throw new InvalidOperationException("the shape cannot be changed from inside a work item; use RequestSpawn/RequestTerminate");
        if (Interlocked.Exchange(ref Running, 1) != 0) throw new InvalidOperationException("the shape cannot be changed while an epoch runs");
        try
        {
            DrainShapeRequests();
            Reshape();
        }
        finally
        {
            Volatile.Write(ref Running, 0);
        }
    }

    // Applies waiting requests to the hierarchy; true when its shape changed.
    private bool DrainShapeRequests()
    {
        bool changed = false;
        while (_shapeRequests.TryDequeue(out long request))
        {
            SphereNode? node = Hierarchy.Find((int)(uint)request);
            if (node is null) continue; // terminated by an earlier request
            if ((request & ~0xFFFF_FFFFL) == KindSpawn)
            {
                if (!node.IsLeaf) continue; // asked twice
                if (Hierarchy.TrySpawnChildren(node, out string? why)) changed = true;
                else LastShapeRefusal = why;
            }
            else
            {
                SphereNode? parent = node.Parent;
                if (parent is null || parent.Level == 0)
                {
                    LastShapeRefusal = $"{node} is one of the 12 symmetry groups, which are never terminated";
                    continue;
                }
                if (Hierarchy.TerminateChildren(parent) > 0) changed = true;
            }
        }
        return changed;
    }

    // Deals the hierarchy's current leaves. Only between epochs, with Running held by the caller.
    private void Reshape()
    {
        if (!Hierarchy.Validate(out string? problem)) throw new InvalidOperationException("the sphere hierarchy is inconsistent: " + problem);
        if (Hierarchy.Root.IsLeaf && _options.HierarchyDepth > 0)
            throw new InvalidOperationException("the 12 symmetry groups must stay: the root has no children");
        int[][] leavesOf = DealLeaves(Hierarchy, Allocation, out int[] homes, out int[] nodeIds);
        // A worker that slept through the last epoch may still claim its (empty) share of it once it wakes;
        // bumping the setup sequence first makes such a late claim fail Fill's check if it reads the new
        // leaves (Fill reads them before the check), so no sphere ever runs outside an epoch.
        Interlocked.Increment(ref SetupSeq);
        int capacity = DequeCapacityFor(leavesOf);
        // Every deque is empty between epochs, so a late thief finds nothing in an old one either.
        if (capacity > _workers[0].Deque.Capacity)
            foreach (Worker w in _workers) w.Deque = new ChaseLevDeque<NoInterleaving>(capacity);
        _statistics.ResizeSpheres(homes.Length);
        InstallLayout(leavesOf, homes, nodeIds);
        Messenger?.Synchronize();
        ShapeVersion++;
    }

    private void InstallLayout(int[][] leavesOf, int[] homes, int[] nodeIds)
    {
        for (int w = 0; w < _workers.Length; w++) _workers[w].Leaves = leavesOf[w];
        _homeOfSphere = homes;
        _leafNodeIds = nodeIds;
        SphereCount = homes.Length;
        HierarchyDepth = Hierarchy.Depth;
        unsafe { _sphereStats = _statistics.SphereBlocks; }
    }

    // Every deque holds the largest share: a thief pushes a share it claims into its own deque, which is
    // empty at that moment, so pushes overflow only if this sizing is wrong.
    private int DequeCapacityFor(int[][] leavesOf) =>
        Math.Max(_stealing ? _options.ParallelChunksPerWorker : 1, leavesOf.Max(l => l.Length));

    /// <summary>
    /// The home worker of every leaf of <paramref name="hierarchy"/> (in <see cref="SphereHierarchy.Leaves"/>
    /// order) and each worker's leaves, ascending: a leaf belongs to the owner of its top-level group by
    /// <paramref name="allocation"/>; with more than 12 workers, group g is served by workers g, g+12, g+24 …
    /// and its leaves (contiguous in depth-first order) are split among them in contiguous blocks, so a
    /// family stays on one worker or on sibling workers. The root alone (depth 0) runs on worker 0.
    /// </summary>
    internal static int[][] DealLeaves(SphereHierarchy hierarchy, ThreadAllocation allocation, out int[] homes, out int[] nodeIds)
    {
        IReadOnlyList<SphereNode> leaves = hierarchy.Leaves;
        int n = allocation.ThreadCount;
        int groups = ThreadAllocation.SymmetryGroupCount;
        homes = new int[leaves.Count];
        nodeIds = new int[leaves.Count];
        var topGroup = new int[leaves.Count];
        var leavesInGroup = new int[groups];
        for (int s = 0; s < leaves.Count; s++)
        {
            SphereNode node = leaves[s];
            nodeIds[s] = node.Id;
            while (node.Level > 1) node = node.Parent!;
            topGroup[s] = node.Level == 0 ? -1 : node.Group;
            if (topGroup[s] >= 0) leavesInGroup[topGroup[s]]++;
        }
        var seenInGroup = new int[groups];
        var lists = new List<int>[n];
        for (int w = 0; w < n; w++) lists[w] = [];
        for (int s = 0; s < leaves.Count; s++)
        {
            int g = topGroup[s];
            int home;
            if (g < 0) home = 0;
            else
            {
                int owner = allocation.OwnerOf(g);
                // Below 12 workers every owner has no sibling worker (owner + 12 ≥ n), so this is the owner.
                int servers = owner < groups ? (n - owner + groups - 1) / groups : 1;
                int k = (int)((long)seenInGroup[g] * servers / leavesInGroup[g]);
                home = owner + k * groups;
            }
            if (g >= 0) seenInGroup[g]++;
            homes[s] = home;
            lists[home].Add(s);
        }
        var result = new int[n][];
        for (int w = 0; w < n; w++) result[w] = lists[w].ToArray();
        return result;
    }

    /// <summary>
    /// Worker <paramref name="worker"/>'s NUMA-local scratch memory (64-byte aligned,
    /// <see cref="ControlProcessOptions.WorkingMemoryBytesPerWorker"/> bytes). Use it only from that worker.
    /// </summary>
    public Span<byte> GetWorkingMemory(int worker)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(worker);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(worker, WorkerCount);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        AlignedBuffer<byte>? memory = _workers[worker].Memory;
        return memory is null ? Span<byte>.Empty : memory.Span;
    }

    /// <summary>Adds <paramref name="crossings"/> 144000-boundary crossings to leaf <paramref name="sphere"/>'s counters (thread-safe).</summary>
    public void ReportBoundaryCrossings(int sphere, long crossings)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sphere);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sphere, SphereCount);
        ArgumentOutOfRangeException.ThrowIfNegative(crossings);
        Interlocked.Add(ref _statistics.SphereBlock(sphere).BoundaryCrossings, crossings);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">work is null.</exception>
    /// <exception cref="InvalidOperationException">called from a worker, or while another epoch runs.</exception>
    /// <exception cref="ObjectDisposedException">the control process was disposed.</exception>
    public void RunEpoch(ISphereWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Run(ModeEpoch, work, null, 0, SphereCount);
    }

    /// <summary>
    /// The worker whose block item <paramref name="item"/> of a <see cref="RunParallel"/> call of <paramref name="itemCount"/>
    /// items falls in (worker w gets items [⌊count·w/n⌋, ⌊count·(w+1)/n⌋)); it runs there unless another worker steals it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">itemCount not positive, or item outside 0 … itemCount−1.</exception>
    public int ParallelOwnerOf(int item, int itemCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(itemCount);
        ArgumentOutOfRangeException.ThrowIfNegative(item);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(item, itemCount);
        int n = _workers.Length;
        int w = (int)((long)item * n / itemCount);
        while (w + 1 < n && BlockStart(itemCount, w + 1) <= item) w++;
        while (w > 0 && BlockStart(itemCount, w) > item) w--;
        return w;
    }

    /// <summary>First item of worker <paramref name="worker"/>'s block of a parallel call of <paramref name="count"/> items.</summary>
    private long BlockStart(long count, int worker) => count * worker / _workers.Length;

    /// <inheritdoc/>
    /// <remarks>Each worker gets a contiguous block of items (<see cref="ParallelOwnerOf"/>); with stealing on the block is cut into
    /// <see cref="ControlProcessOptions.ParallelChunksPerWorker"/> chunks, the unit a thief takes.</remarks>
    /// <exception cref="ArgumentNullException">work is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">itemCount is negative.</exception>
    /// <exception cref="InvalidOperationException">called from a worker, or while another epoch runs.</exception>
    public void RunParallel(IParallelWork work, int itemCount)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        if (itemCount == 0) return;
        Run(ModeParallel, null, work, itemCount, itemCount);
    }

    /// <summary>
    /// Runs <see cref="IParallelWork.ExecuteItem"/>(w, w) once on each worker w, on that worker's own
    /// thread (never stolen); returns when all finished. Use it to touch per-thread state before the
    /// steady state — thread-static scratch buffers, NUMA first touch — so that later epochs, whose
    /// spheres may run on any worker when stealing is on, find it already allocated.
    /// </summary>
    /// <exception cref="ArgumentNullException">work is null.</exception>
    /// <exception cref="InvalidOperationException">called from a worker, or while another epoch runs.</exception>
    public void RunOnEachWorker(IParallelWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Run(ModeEachWorker, null, work, 0, _workers.Length);
    }

    // The epoch path is compiled fully optimised at once ([AggressiveOptimization] on every method of it):
    // with tiered compilation a third to a half of the processes ran short epochs 2–4x slower (the
    // worker's loop stays in its on-stack-replacement or profiled variants) — measured with
    // `epoch-probe` in bench/: 250–285 ns/epoch in 6 of 6 processes with tiering off, 252–1,040 ns with it.
    // One fork-join of any kind: publish the epoch's parameters (after Enter bumped the setup
    // sequence), fork, take part as worker 0, wait, rethrow what the items threw.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run(int mode, ISphereWork? sphereWork, IParallelWork? parallelWork, int parallelItemCount, long pending)
    {
        long epoch = Enter();
        try
        {
            // Written only when they change: the line they share with fields every worker reads
            // then stays in every core's cache (the last work object is kept until the next one).
            if (!ReferenceEquals(_sphereWork, sphereWork)) _sphereWork = sphereWork;
            if (!ReferenceEquals(_parallelWork, parallelWork)) _parallelWork = parallelWork;
            ParallelItemCount = parallelItemCount;
            Mode = mode;
            Fork(pending, epoch);
            Participate();
            Join();
            // Spawn/terminate requests made by this epoch's work items take effect before the next epoch.
            if (_shapeRequests.Count > 0 && DrainShapeRequests()) Reshape();
            ThrowIfWorkFailed();
        }
        finally
        {
            Volatile.Write(ref Running, 0);
        }
    }

    // Returns the number of the epoch being set up (the setup sequence, which a reshape also bumps, so
    // epoch numbers grow but may skip).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long Enter()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (t_workerOf == this) throw new InvalidOperationException("an epoch cannot be started from inside a work item of the same control process");
        if (Interlocked.Exchange(ref Running, 1) != 0) throw new InvalidOperationException("another epoch is already running on this control process");
        return Interlocked.Increment(ref SetupSeq);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Fork(long items, long epoch)
    {
        Target += items; // only the control thread writes it
        Interlocked.Exchange(ref Epoch, epoch); // full fence: publishes work, mode and counters
        for (int w = _callerIsWorker0 ? 1 : 0; w < _workers.Length; w++) _workers[w].Signal.Wake();
    }

    // With UseCallingThread the caller is worker 0: it runs its share like any worker instead of
    // idling (and taking a core from the workers) while it waits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Participate()
    {
        if (!_callerIsWorker0) return;
        ControlProcess? outer = t_workerOf; // the caller may itself be a worker of another control process
        t_workerOf = this;
        try
        {
            RunShare(_workers[0]);
        }
        finally
        {
            t_workerOf = outer;
        }
    }

    // The epoch ends when every item has finished. Workers need not check out: one that wakes late
    // finds its share already claimed (stealing on) and nothing left, so a sleeping or descheduled
    // worker never holds the epoch up.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Join()
    {
        if (Volatile.Read(ref Done) == Target) return;
        for (int i = 0; i < _spinRounds; i++)
        {
            for (int p = 0; p < PollsPerSpinRound; p++)
            {
                if (Volatile.Read(ref Done) == Target) return;
                Thread.SpinWait(1);
            }
            YieldIfOversubscribed(i);
        }
        var allDone = new AllDone(this);
        _controlSignal.SleepUntil(ref allDone);
    }

    private readonly struct AllDone(ControlProcess cp) : IWakeCondition
    {
        public bool IsMet() => Volatile.Read(ref cp.Done) == cp.Target;
    }

    private readonly struct EpochChanged(ControlProcess cp, long seen) : IWakeCondition
    {
        public bool IsMet() => Volatile.Read(ref cp.Epoch) != seen;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void YieldIfOversubscribed(int round)
    {
        if (_oversubscribed && (round & 31) == 31) Thread.Yield();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Spin(int round)
    {
        // With more threads than CPUs, yield now and then: the thread being waited for may need this
        // core. Otherwise never yield: a yielding thread gives its turn away, and on a busy machine
        // it then sees the next epoch milliseconds late.
        if (_oversubscribed && (round & 31) == 31) Thread.Yield();
        else Thread.SpinWait(8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ThrowIfWorkFailed()
    {
        List<Exception>? errors = null;
        foreach (Worker w in _workers)
        {
            if (w.Errors is null) continue;
            (errors ??= []).AddRange(w.Errors);
            w.Errors = null;
        }
        if (errors is null) return;
        if (errors.Count == 1) ExceptionDispatchInfo.Throw(errors[0]);
        throw new AggregateException("work items failed in this epoch", errors);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WorkerMain(Worker worker, CountdownEvent started)
    {
        try
        {
            t_workerOf = this;
            string? pinError = null;
            bool pinned = _options.PinThreads && PlatformServices.Current.TryPinCurrentThread(worker.Cpu, out pinError);
            if (!_options.PinThreads) pinError = "pinning disabled by options";
            worker.Placement = new WorkerPlacement(worker.Index, worker.Cpu, pinned, pinned ? null : pinError, worker.NumaNode);
            // Allocated by the worker itself, after pinning, so first touch also lands on its node.
            if (_options.WorkingMemoryBytesPerWorker > 0)
                worker.Memory = new AlignedBuffer<byte>(_options.WorkingMemoryBytesPerWorker, worker.NumaNode);
        }
        catch (Exception e)
        {
            worker.StartError = e;
        }
        finally
        {
            started.Signal();
        }
        if (worker.StartError is not null) return;

        long seen = 0;
        while (true)
        {
            long waitStart = _timings ? Stopwatch.GetTimestamp() : 0;
            seen = WaitForEpoch(worker, seen);
            if (_shutdown) return;
            // Only this worker writes its own timing fields.
            if (_timings) WorkerStats(worker.Index).IdleTicks += Stopwatch.GetTimestamp() - waitStart;
            RunShare(worker);
        }
    }

    // One worker's part of an epoch: claim and run its own share from its deque, then (stealing on)
    // take other workers' items, or whole shares their owners have not claimed yet, until every item
    // has finished. A worker still stealing when the next epoch starts is already in it, so the loop
    // re-reads the epoch and claims its own new share before stealing anyone else's.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunShare(Worker worker)
    {
        long epoch = Volatile.Read(ref Epoch);
        if (TryClaimShare(worker, epoch)) Fill(worker, worker, epoch);
        DrainOwn(worker);
        if (!_stealing) return;
        long t1 = _timings ? Stopwatch.GetTimestamp() : 0;
        // Grace period: watch only the epoch's own lines for a moment before touching other workers' deques.
        // A thief reading a victim's deque indices makes each of the victim's next pops wait for the
        // line to come back (a cross-core miss per item), which is most of the cost of a short epoch
        // whose shares finish at about the same time; an item worth stealing runs far longer than this.
        // A share still unclaimed a little into the grace period means its owner is asleep or has no
        // core right now (on a small machine, often the caller's own): take it at once instead.
        for (int p = 0; p < PollsBeforeStealing && Pending > 0; p++)
        {
            if ((p == 4 || p == 10) && AnyShareUnclaimed(worker)) break;
            Thread.SpinWait(1);
        }
        int failedRounds = 0;
        // Idle detection: work only appears at the start of an epoch (every share is pushed once), so
        // when every deque looks empty and every share of the epoch has been claimed, what is left is
        // running on other workers. After a few such rounds (covering a thief caught between claiming
        // a share and pushing it) the worker leaves the epoch and waits for the next one, spinning and
        // then blocking, instead of burning a core the busy workers may need.
        while (Pending > 0)
        {
            epoch = Volatile.Read(ref Epoch);
            bool got = TryClaimShare(worker, epoch);
            if (got) Fill(worker, worker, epoch);
            else got = StealOnce(worker);
            if (got)
            {
                failedRounds = 0;
                DrainOwn(worker);
            }
            else
            {
                if (++failedRounds >= IdleRoundsBeforeLeaving) break;
                Spin(failedRounds);
            }
        }
        if (_timings) WorkerStats(worker.Index).SyncTicks += Stopwatch.GetTimestamp() - t1;
    }

    // Finished items are counted into Done once per drained run, not once per item: the counter's
    // cache line then moves between cores once per share instead of once per sphere.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DrainOwn(Worker worker)
    {
        long done = 0;
        while (worker.Deque.TryPop(out long item))
        {
            Execute(worker, item, stolenFrom: -1);
            done += (uint)item;
        }
        if (done > 0) Complete(done);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Complete(long items)
    {
        // The control thread may return (and start the next epoch) as soon as this hits zero.
        // Target is read first: it is this epoch's, since the epoch cannot end without these items.
        long target = Volatile.Read(ref Target);
        if (Interlocked.Add(ref Done, items) == target) _controlSignal.Wake();
    }

    // A worker's share of an epoch is pushed once, by whoever claims it first: normally its owner,
    // but a thief may claim the share of a worker that has not woken up yet (into the thief's own
    // deque, so every deque keeps a single owner).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryClaimShare(Worker owner, long epoch)
    {
        // The shutdown bump of the epoch number carries no work: a worker still finishing its last
        // steal loop must not claim a "share" of it (the caller read the epoch first, with acquire
        // semantics, so it sees the flag that Dispose set before the bump).
        if (_shutdown) return false;
        long ticket = Volatile.Read(ref owner.Tickets.First);
        return ticket < epoch && Interlocked.CompareExchange(ref owner.Tickets.First, epoch, ticket) == ticket;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool AnyShareUnclaimed(Worker thief)
    {
        long epoch = Volatile.Read(ref Epoch);
        foreach (int v in thief.Victims)
            if (Volatile.Read(ref _workers[v].Tickets.First) < epoch) return true;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool StealOnce(Worker thief)
    {
        int[] victims = thief.Victims;
        for (int v = 0; v < victims.Length; v++)
        {
            Worker victim = _workers[victims[v]];
            StealResult r;
            long item;
            // Abort means a race was lost, not that the deque is empty: try the same victim again.
            while ((r = victim.Deque.TrySteal(out item)) == StealResult.Abort) { }
            if (r != StealResult.Success) continue;
            Execute(thief, item, stolenFrom: victim.Index);
            Complete((uint)item);
            return true;
        }
        // Nothing in any deque: take a share nobody has claimed (its owner is asleep or descheduled).
        long epoch = Volatile.Read(ref Epoch); // acquire: the epoch's work and mode are visible
        if (Mode == ModeEachWorker) return false; // each share belongs to its own worker's thread
        for (int v = 0; v < victims.Length; v++)
        {
            Worker victim = _workers[victims[v]];
            if (!TryClaimShare(victim, epoch)) continue;
            int pushed = Fill(thief, victim, epoch);
            if (pushed > 0)
            {
                WorkerStats(thief.Index).StealsTaken += pushed; // own counter: single writer
                Interlocked.Add(ref WorkerStats(victim.Index).StealsGiven, pushed);
            }
            return true;
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long WaitForEpoch(Worker worker, long seen)
    {
        long epoch;
        for (int i = 0; i < _spinRounds; i++)
        {
            for (int p = 0; p < PollsPerSpinRound; p++)
            {
                epoch = Volatile.Read(ref Epoch);
                if (epoch != seen) return epoch;
                Thread.SpinWait(1);
            }
            YieldIfOversubscribed(i);
        }
        var changed = new EpochChanged(this, seen);
        worker.Signal.SleepUntil(ref changed);
        return Volatile.Read(ref Epoch);
    }

    // Pushes the share of <shareOf> into <into>'s deque (into is the calling thread's worker), in
    // reverse so pops run it in ascending order and thieves, stealing from the top, take the far end.
    // Returns the number of work items (deque entries) pushed or run.
    //
    // <claimedEpoch> is the epoch the share was claimed for. A share that is empty in its epoch (a
    // worker with no leaves, or no items) does not hold that epoch open, so the claimer may get here
    // after the epoch ended and while the next one is being set up. The parameters are therefore read
    // first, then the claim is checked against SetupSeq; a stale claim fills nothing, and since the
    // ticket holds the old epoch number, the share of the new epoch stays claimable by its owner.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Fill(Worker into, Worker shareOf, long claimedEpoch)
    {
        ChaseLevDeque<NoInterleaving> deque = into.Deque;
        bool foreign = !ReferenceEquals(into, shareOf);
        long mode = Mode;
        long count = ParallelItemCount;
        int[] leaves = shareOf.Leaves; // before the check too: a reshape bumps the setup sequence before it deals new leaves
        Interlocked.MemoryBarrier(); // the reads above complete before the check below
        if (Volatile.Read(ref SetupSeq) != claimedEpoch) return 0;
        if (mode == ModeEachWorker)
        {
            // Never through a deque, so never stolen; thieves do not claim shares in this mode (a
            // thief that read the previous mode was stopped by the check above).
            if (foreign) return 0;
            long own = ((long)shareOf.Index << 32) | 1;
            Execute(into, own, stolenFrom: -1);
            Complete(1);
            return 0;
        }
        if (mode == ModeEpoch)
        {
            for (int i = leaves.Length - 1; i >= 0; i--)
            {
                if (foreign) SphereStats(leaves[i]).StealsGiven++; // the claimer is this sphere's only writer now
                long item = ((long)leaves[i] << 32) | 1;
                if (!deque.TryPush(item)) RunOverflow(into, item);
            }
            return leaves.Length;
        }
        int lo = (int)BlockStart(count, shareOf.Index);
        int hi = (int)BlockStart(count, shareOf.Index + 1);
        int share = hi - lo;
        if (share == 0) return 0;
        int chunks = Math.Min(share, _stealing ? _options.ParallelChunksPerWorker : 1);
        for (int c = chunks - 1; c >= 0; c--)
        {
            int start = lo + (int)((long)share * c / chunks);
            int end = lo + (int)((long)share * (c + 1) / chunks);
            long item = ((long)start << 32) | (uint)(end - start);
            if (!deque.TryPush(item)) RunOverflow(into, item);
        }
        return chunks;
    }

    // The deque is sized for a worker's whole share, so this runs only if that sizing is ever wrong:
    // the item is run at once by its owner instead of being lost.
    private void RunOverflow(Worker worker, long item)
    {
        Execute(worker, item, stolenFrom: -1);
        Complete((uint)item);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Execute(Worker worker, long item, int stolenFrom)
    {
        int start = (int)(item >> 32);
        int length = (int)(uint)item;
        long t0 = _timings ? Stopwatch.GetTimestamp() : 0;
        ref SchedulerStatistics.Block ws = ref WorkerStats(worker.Index);
        try
        {
            if (Mode == ModeEpoch)
            {
                _sphereWork!.ExecuteSphere(start, worker.Index);
            }
            else
            {
                IParallelWork work = _parallelWork!;
                int end = start + length;
                for (int i = start; i < end; i++) work.ExecuteItem(i, worker.Index);
            }
        }
        catch (Exception e)
        {
            // Keep draining: the epoch must finish on every worker before the error is rethrown.
            lock (worker) (worker.Errors ??= []).Add(e);
        }
        long dt = _timings ? Stopwatch.GetTimestamp() - t0 : 0;
        // Plain adds where there is one writer: a worker's own counters are written only by that
        // worker, and a sphere runs on one worker per epoch (epochs are ordered by the Done
        // counter's full fences). Aligned 64-bit stores cannot tear, so readers see whole values.
        ws.WorkItems += length;
        ws.BusyTicks += dt;
        if (stolenFrom >= 0)
        {
            ws.StealsTaken++;
            Interlocked.Increment(ref WorkerStats(stolenFrom).StealsGiven); // many thieves
        }
        if (Mode == ModeEpoch)
        {
            ref SchedulerStatistics.Block ss = ref SphereStats(start);
            ss.WorkItems++;
            ss.BusyTicks += dt;
            if (stolenFrom >= 0) ss.StealsGiven++;
        }
    }

    private static int[] VictimOrder(int self, Worker[] workers)
    {
        int n = workers.Length;
        int myGroup = self % ThreadAllocation.SymmetryGroupCount;
        var others = new List<int>(n);
        for (int k = 1; k < n; k++) others.Add((self + k) % n);
        // Same NUMA node first, then (for more than 12 workers) siblings serving the same parent
        // sphere; the ring distance keeps thieves from all picking the same victim first.
        return others
            .OrderBy(v => workers[v].NumaNode == workers[self].NumaNode ? 0 : 1)
            .ThenBy(v => n > ThreadAllocation.SymmetryGroupCount && v % ThreadAllocation.SymmetryGroupCount == myGroup ? 0 : 1)
            .ThenBy(v => (v - self + n) % n)
            .ToArray();
    }

    private unsafe ref SchedulerStatistics.Block WorkerStats(int worker) => ref _workerStats[worker];

    private unsafe ref SchedulerStatistics.Block SphereStats(int sphere) => ref _sphereStats[sphere];

    internal int[] VictimsOf(int worker) => _workers[worker].Victims;

    internal static int Pow12(int depth)
    {
        int r = 1;
        for (int i = 0; i < depth; i++) r *= 12;
        return r;
    }

    /// <summary>Stops and joins every worker thread and frees their memory. Must not be called from a work item or during an epoch.</summary>
    /// <exception cref="InvalidOperationException">called from a worker thread or while an epoch runs.</exception>
    public void Dispose()
    {
        if (t_workerOf == this) throw new InvalidOperationException("a control process cannot be disposed from its own worker");
        if (Volatile.Read(ref Running) != 0) throw new InvalidOperationException("cannot dispose while an epoch runs");
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _shutdown = true;
        Interlocked.Increment(ref Epoch);
        foreach (Worker w in _workers) w.Signal.Wake();
        foreach (Worker w in _workers) w.Thread?.Join();
        foreach (Worker w in _workers)
        {
            w.Memory?.Dispose();
            w.Signal.Dispose();
        }
        _controlSignal.Dispose();
        _statistics.Release();
        _sphereWork = null;
        _parallelWork = null;
        _hot.Dispose();
    }

    private sealed class Worker
    {
        public Worker(int index, int cpu, int numaNode, int dequeCapacity)
        {
            Index = index;
            Cpu = cpu;
            NumaNode = numaNode;
            Deque = new ChaseLevDeque<NoInterleaving>(dequeCapacity);
        }

        public int Index { get; }
        public int Cpu { get; }
        public int NumaNode { get; }
        public int[] Leaves { get; set; } = []; // replaced (never changed in place) by a reshape, between epochs
        public ChaseLevDeque<NoInterleaving> Deque { get; set; }
        public WakeSignal Signal { get; } = new();
        public int[] Victims { get; set; } = [];
        public PaddedPair Tickets; // First: the last epoch whose share of this worker was claimed (own cache line)
        public Thread? Thread { get; set; }
        public WorkerPlacement Placement { get; set; }
        public AlignedBuffer<byte>? Memory { get; set; }
        public Exception? StartError { get; set; }
        public List<Exception>? Errors { get; set; }
    }
}
