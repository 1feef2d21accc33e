namespace Crystalline.Hpc.Scheduling;

/// <summary>What a <see cref="SphereMessage"/> is about. Values from <see cref="User"/> up are free for workloads.</summary>
public enum SphereMessageType
{
    /// <summary>A payload of data (e.g. an offset into a shared buffer).</summary>
    Data = 0,
    /// <summary>A child asks its parent (or a sibling) for more work.</summary>
    WorkRequest = 1,
    /// <summary>A child reports its work finished (payload: a result handle or count).</summary>
    WorkDone = 2,
    /// <summary>A parent tells a child to stop.</summary>
    Terminate = 3,
    /// <summary>A parent tells its children the work was re-dealt.</summary>
    Rebalance = 4,
    /// <summary>A 144000-boundary crossing to record (payload: the count).</summary>
    BoundaryCrossing = 5,
    /// <summary>First value for workload-defined messages.</summary>
    User = 1000,
}

/// <summary>A message between spheres, addressed by <see cref="SphereNode.Id"/>. A plain value: sending copies it, nothing is allocated.</summary>
/// <param name="Type">What the message is about.</param>
/// <param name="Source">Sender's sphere id.</param>
/// <param name="Target">Receiver's sphere id.</param>
/// <param name="Payload">64 bits of payload (a value, or an index into memory both sides share).</param>
public readonly record struct SphereMessage(SphereMessageType Type, int Source, int Target, long Payload);

/// <summary>
/// Mailboxes for the spheres of a <see cref="SphereHierarchy"/>: one bounded lock-free MPMC queue per
/// sphere. A sphere may send to its parent, its children and its siblings (and itself). Sending and
/// receiving are thread-safe and allocation-free; full mailboxes refuse (back-pressure) instead of growing.
/// </summary>
public sealed class SphereMessenger
{
    private readonly SphereHierarchy _hierarchy;
    private readonly SchedulerStatistics? _statistics;
    private readonly int _capacity;
    private BoundedMpmcQueue<SphereMessage, NoInterleaving>?[] _mailboxes = [];
    private long[] _sent = [];
    private long[] _received = [];

    /// <summary>Mailboxes of <paramref name="mailboxCapacity"/> messages (rounded up to a power of two) for every sphere of <paramref name="hierarchy"/>.</summary>
    /// <exception cref="ArgumentNullException">hierarchy is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">capacity outside 1 … 2^20.</exception>
    public SphereMessenger(SphereHierarchy hierarchy, int mailboxCapacity = 16)
        : this(hierarchy, mailboxCapacity, null)
    {
    }

    internal SphereMessenger(SphereHierarchy hierarchy, int mailboxCapacity, SchedulerStatistics? statistics)
    {
        ArgumentNullException.ThrowIfNull(hierarchy);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mailboxCapacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mailboxCapacity, 1 << 20);
        _hierarchy = hierarchy;
        _capacity = mailboxCapacity;
        _statistics = statistics;
        Synchronize();
    }

    /// <summary>Adds mailboxes for spheres spawned and drops those of terminated spheres. Call after changing the hierarchy, between epochs.</summary>
    public void Synchronize()
    {
        int bound = _hierarchy.IdBound;
        if (_mailboxes.Length < bound)
        {
            Array.Resize(ref _mailboxes, bound);
            Array.Resize(ref _sent, bound);
            Array.Resize(ref _received, bound);
        }
        for (int id = 0; id < bound; id++)
        {
            bool alive = _hierarchy.Find(id) is not null;
            if (alive && _mailboxes[id] is null) _mailboxes[id] = new BoundedMpmcQueue<SphereMessage, NoInterleaving>(_capacity);
            else if (!alive) _mailboxes[id] = null;
        }
    }

    /// <summary>Sends <paramref name="message"/> to its target's mailbox.</summary>
    /// <returns>False when the target's mailbox is full (nothing was sent).</returns>
    /// <exception cref="ArgumentException">source or target is not a living sphere, or they are not parent, child or sibling.</exception>
    public bool TrySend(in SphereMessage message)
    {
        SphereNode source = Living(message.Source, nameof(message));
        SphereNode target = Living(message.Target, nameof(message));
        if (!source.IsNeighbourOf(target))
            throw new ArgumentException($"{source} may message only its parent, children and siblings, not {target}", nameof(message));
        BoundedMpmcQueue<SphereMessage, NoInterleaving> box = _mailboxes[target.Id] ?? throw new InvalidOperationException($"no mailbox for {target}: call Synchronize after spawning");
        if (!box.TryEnqueue(message)) return false;
        Interlocked.Increment(ref _sent[source.Id]);
        if (_statistics is not null && source.LeafIndex >= 0 && source.LeafIndex < _statistics.SphereCount)
            Interlocked.Increment(ref _statistics.SphereBlock(source.LeafIndex).MessagesSent);
        return true;
    }

    /// <summary>Takes the oldest message from sphere <paramref name="sphereId"/>'s mailbox.</summary>
    /// <returns>False when the mailbox is empty.</returns>
    /// <exception cref="ArgumentException">sphereId is not a living sphere.</exception>
    public bool TryReceive(int sphereId, out SphereMessage message)
    {
        SphereNode node = Living(sphereId, nameof(sphereId));
        BoundedMpmcQueue<SphereMessage, NoInterleaving>? box = _mailboxes[node.Id];
        if (box is null || !box.TryDequeue(out message))
        {
            message = default;
            return false;
        }
        Interlocked.Increment(ref _received[node.Id]);
        if (_statistics is not null && node.LeafIndex >= 0 && node.LeafIndex < _statistics.SphereCount)
            Interlocked.Increment(ref _statistics.SphereBlock(node.LeafIndex).MessagesReceived);
        return true;
    }

    /// <summary>Messages waiting for sphere <paramref name="sphereId"/> (approximate while others send).</summary>
    public long Pending(int sphereId) => _mailboxes[Living(sphereId, nameof(sphereId)).Id]?.Count ?? 0;

    /// <summary>Messages sent by sphere <paramref name="sphereId"/> so far.</summary>
    public long SentBy(int sphereId) => Volatile.Read(ref _sent[Living(sphereId, nameof(sphereId)).Id]);

    /// <summary>Messages received by sphere <paramref name="sphereId"/> so far.</summary>
    public long ReceivedBy(int sphereId) => Volatile.Read(ref _received[Living(sphereId, nameof(sphereId)).Id]);

    private SphereNode Living(int id, string paramName)
    {
        SphereNode? node = _hierarchy.Find(id);
        if (node is null || (uint)id >= (uint)_mailboxes.Length) throw new ArgumentException($"sphere {id} does not exist or was terminated", paramName);
        return node;
    }
}
