using Crystalline.Hpc.Platform;

namespace Crystalline.Hpc.Memory;

/// <summary>How a <see cref="SharedMemoryRegion{T}"/> may be changed.</summary>
public enum SharedAccessMode
{
    /// <summary>Fixed at construction; writing throws. Reads take no lock.</summary>
    ReadOnly,

    /// <summary>
    /// A writer edits a private copy; readers keep seeing the published version until the writer
    /// commits, which publishes the copy atomically. Reads take no lock (a reference count keeps a
    /// version alive while read). Writers are serialised. Suits "publish new weights to every sphere".
    /// </summary>
    CopyOnWrite,

    /// <summary>
    /// One buffer guarded by a reader-writer lock: many readers or one writer editing in place.
    /// No copies, but readers wait for a writer. Leases must be released on the thread that took them.
    /// </summary>
    LockedWrite,
}

/// <summary>Counters of a <see cref="SharedMemoryRegion{T}"/> (a snapshot; each counter is read atomically).</summary>
/// <param name="Reads">Read leases taken.</param>
/// <param name="Writes">Versions published (commits).</param>
/// <param name="Copies">Private copies made for copy-on-write writers.</param>
/// <param name="Waits">Times a reader or writer could not proceed at once (lock contention, a writer queued
/// behind another, a copy-on-write reader retrying because a version was published under it).</param>
public readonly record struct SharedRegionStatistics(long Reads, long Writes, long Copies, long Waits);

/// <summary>
/// A block of native, 64-byte-aligned memory shared between threads, with an access mode, a version
/// number bumped on each write, statistics, and a checksum to validate the published content.
/// </summary>
/// <remarks>
/// Read with <see cref="AcquireRead"/> and write with <see cref="BeginWrite"/>; both return leases to
/// dispose once (they are ref structs: no allocation, and they cannot escape the stack frame). A
/// reader sees one whole version, never a mix of two. Version 0 is the initial content.
/// </remarks>
/// <typeparam name="T">Element type.</typeparam>
public sealed class SharedMemoryRegion<T> : IDisposable where T : unmanaged
{
    private readonly IPlatform _platform;
    private readonly int _numaNode;
    private readonly bool _recordChecksums;
    private readonly SemaphoreSlim _writerGate = new(1, 1); // copy-on-write: one writer at a time, any thread may release
    private readonly ReaderWriterLockSlim? _lock;
    private Snapshot _current;
    private Snapshot? _spare; // a retired version's buffer, reused by the next writer so steady-state writes do not allocate native memory
    private long _reads, _writes, _copies, _waits;
    private int _disposed;

    /// <summary>A region of <paramref name="length"/> zeroed elements.</summary>
    /// <param name="length">Number of elements (≥ 0).</param>
    /// <param name="mode">Access mode.</param>
    /// <param name="numaNode">NUMA node for the memory (−1: no preference).</param>
    /// <param name="recordChecksums">Compute the checksum at each publication so <see cref="Validate"/> can detect later corruption (costs one pass over the data per write).</param>
    /// <exception cref="ArgumentOutOfRangeException">Negative length, unknown mode or bad node.</exception>
    public SharedMemoryRegion(long length, SharedAccessMode mode, int numaNode = -1, bool recordChecksums = true)
        : this(length, mode, numaNode, recordChecksums, PlatformServices.Current)
    {
    }

    /// <summary>A region holding a copy of <paramref name="initial"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Unknown mode or bad node.</exception>
    public SharedMemoryRegion(ReadOnlySpan<T> initial, SharedAccessMode mode, int numaNode = -1, bool recordChecksums = true)
        : this(initial.Length, mode, numaNode, recordChecksums, PlatformServices.Current)
    {
        initial.CopyTo(_current.Buffer.Span);
        if (_recordChecksums) _current.Checksum = RegionChecksum.Compute<T>(_current.Buffer.Span);
    }

    internal SharedMemoryRegion(long length, SharedAccessMode mode, int numaNode, bool recordChecksums, IPlatform platform)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown access mode");
        if (length > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(length), length, "a region holds at most int.MaxValue elements (spans are int-indexed)");
        Mode = mode;
        Length = length;
        _platform = platform;
        _numaNode = numaNode;
        _recordChecksums = recordChecksums;
        _current = new Snapshot(new AlignedBuffer<T>(length, numaNode, platform)) { RefCount = 1 };
        if (recordChecksums) _current.Checksum = RegionChecksum.Compute<T>(_current.Buffer.Span);
        if (mode == SharedAccessMode.LockedWrite) _lock = new ReaderWriterLockSlim(LockRecursionPolicy.NoRecursion);
    }

    /// <summary>The access mode.</summary>
    public SharedAccessMode Mode { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>The version now published (0 initially, +1 per write).</summary>
    public long Version => Volatile.Read(ref _current).Number;

    /// <summary>The counters so far.</summary>
    public SharedRegionStatistics Statistics => new(
        Interlocked.Read(ref _reads), Interlocked.Read(ref _writes), Interlocked.Read(ref _copies), Interlocked.Read(ref _waits));

    /// <summary>Takes a read lease on the published version. Dispose it (once) to release.</summary>
    /// <exception cref="ObjectDisposedException">The region is disposed.</exception>
    public ReadLease AcquireRead()
    {
        ThrowIfDisposed();
        Interlocked.Increment(ref _reads);
        if (_lock is not null)
        {
            if (!_lock.TryEnterReadLock(0))
            {
                Interlocked.Increment(ref _waits);
                _lock.EnterReadLock();
            }
            if (Volatile.Read(ref _disposed) != 0)
            {
                _lock.ExitReadLock();
                ThrowIfDisposed();
            }
            return new ReadLease(this, _current);
        }
        while (true)
        {
            Snapshot s = Volatile.Read(ref _current);
            // The count can reach 0 (version retired, maybe being refilled) between the read and the
            // increment; TryAddRef refuses then. After it succeeds the snapshot is pinned, and it is
            // the published one if _current still points at it.
            if (s.TryAddRef())
            {
                if (ReferenceEquals(s, Volatile.Read(ref _current))) return new ReadLease(this, s);
                Release(s);
            }
            ThrowIfDisposed();
            Interlocked.Increment(ref _waits);
        }
    }

    /// <summary>
    /// Starts a write. Copy-on-write: a private copy of the published version, invisible to readers
    /// until <see cref="WriteLease.Commit"/> (disposing without commit discards it). Locked-write: the
    /// buffer itself under the write lock; the version is bumped when the lease ends, committed or not,
    /// since in-place changes cannot be taken back.
    /// </summary>
    /// <exception cref="InvalidOperationException">The region is read-only.</exception>
    /// <exception cref="ObjectDisposedException">The region is disposed.</exception>
    public WriteLease BeginWrite()
    {
        ThrowIfDisposed();
        if (Mode == SharedAccessMode.ReadOnly) throw new InvalidOperationException("the region is read-only");
        if (_lock is not null)
        {
            if (!_lock.TryEnterWriteLock(0))
            {
                Interlocked.Increment(ref _waits);
                _lock.EnterWriteLock();
            }
            return new WriteLease(this, _current);
        }
        if (!_writerGate.Wait(0))
        {
            Interlocked.Increment(ref _waits);
            _writerGate.Wait();
        }
        Snapshot draft;
        try
        {
            ThrowIfDisposed();
            draft = Interlocked.Exchange(ref _spare, null) ?? new Snapshot(new AlignedBuffer<T>(Length, _numaNode, _platform));
            // Only the writer (holding the gate) changes _current, so reading it needs no lease.
            _current.Buffer.Span.CopyTo(draft.Buffer.Span);
            Interlocked.Increment(ref _copies);
        }
        catch
        {
            _writerGate.Release();
            throw;
        }
        return new WriteLease(this, draft);
    }

    /// <summary>Copies the published version into <paramref name="destination"/> and returns its version number.</summary>
    /// <exception cref="ArgumentException">destination is shorter than the region.</exception>
    public long CopyTo(Span<T> destination)
    {
        if (destination.Length < Length) throw new ArgumentException($"destination holds {destination.Length} elements, the region {Length}", nameof(destination));
        using var lease = AcquireRead();
        lease.Span.CopyTo(destination);
        return lease.Version;
    }

    /// <summary>The checksum (<see cref="RegionChecksum"/>) of the published version, computed now.</summary>
    public ulong ComputeChecksum()
    {
        using var lease = AcquireRead();
        return RegionChecksum.Compute(lease.Span);
    }

    /// <summary>
    /// True when the published content still has the checksum recorded when it was published (false
    /// means it was changed behind the region's back, e.g. through a pointer).
    /// </summary>
    /// <exception cref="InvalidOperationException">The region was created without recordChecksums.</exception>
    public bool Validate()
    {
        if (!_recordChecksums) throw new InvalidOperationException("the region records no checksums (recordChecksums: false)");
        using var lease = AcquireRead();
        return RegionChecksum.Compute(lease.Span) == lease.RecordedChecksum;
    }

    /// <summary>
    /// Frees the memory. Copy-on-write and read-only versions still leased are freed when their last
    /// lease ends; in locked-write mode Dispose waits for the readers inside (do not call it while
    /// holding a lease of this region on the same thread). Safe to call twice.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_lock is not null)
        {
            // Locked-write readers hold no reference count: wait until none is inside.
            _lock.EnterWriteLock();
            try
            {
                Release(_current);
            }
            finally
            {
                _lock.ExitWriteLock();
            }
        }
        else
        {
            Release(_current);
        }
        Interlocked.Exchange(ref _spare, null)?.Buffer.Dispose();
        // _writerGate and _lock are not disposed: a lease still in flight releases them afterwards.
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private void Release(Snapshot s)
    {
        if (Interlocked.Decrement(ref s.RefCount) == 0) Recycle(s);
    }

    /// <summary>Keeps a retired buffer for the next writer, or frees it (slot taken, or region disposed).</summary>
    private void Recycle(Snapshot s)
    {
        if (Volatile.Read(ref _disposed) == 0 && Interlocked.CompareExchange(ref _spare, s, null) is null)
        {
            // Dispose may have emptied the spare slot just before we filled it.
            if (Volatile.Read(ref _disposed) != 0) Interlocked.Exchange(ref _spare, null)?.Buffer.Dispose();
            return;
        }
        s.Buffer.Dispose();
    }

    private void EndRead(Snapshot s)
    {
        if (_lock is not null) _lock.ExitReadLock();
        else Release(s);
    }

    private void EndWrite(Snapshot draft, bool commit)
    {
        if (_lock is not null)
        {
            // In place: whatever was written is there, so it is a new version either way.
            draft.Number++;
            if (_recordChecksums) draft.Checksum = RegionChecksum.Compute<T>(draft.Buffer.Span);
            Interlocked.Increment(ref _writes);
            _lock.ExitWriteLock();
            return;
        }
        try
        {
            if (!commit || Volatile.Read(ref _disposed) != 0)
            {
                Recycle(draft);
                if (commit) throw new ObjectDisposedException(GetType().FullName, "the region was disposed while a write was in progress");
                return;
            }
            Snapshot old = _current;
            draft.Number = old.Number + 1;
            if (_recordChecksums) draft.Checksum = RegionChecksum.Compute<T>(draft.Buffer.Span);
            // The count is set before publication: a reader can only pin what is published or pending.
            Interlocked.Exchange(ref draft.RefCount, 1);
            Volatile.Write(ref _current, draft);
            Interlocked.Increment(ref _writes);
            Release(old);
        }
        finally
        {
            _writerGate.Release();
        }
    }

    internal sealed class Snapshot(AlignedBuffer<T> buffer)
    {
        public readonly AlignedBuffer<T> Buffer = buffer;
        public long Number;
        public ulong Checksum;
        public int RefCount; // 1 while published, +1 per read lease; 0: retired (never revived except by a writer's publication)

        public bool TryAddRef()
        {
            int c = Volatile.Read(ref RefCount);
            while (c > 0)
            {
                int seen = Interlocked.CompareExchange(ref RefCount, c + 1, c);
                if (seen == c) return true;
                c = seen;
            }
            return false;
        }
    }

    /// <summary>A read lease: one whole version of the region. Dispose it once.</summary>
    public ref struct ReadLease
    {
        private readonly SharedMemoryRegion<T> _region;
        private Snapshot? _snapshot;

        internal ReadLease(SharedMemoryRegion<T> region, Snapshot snapshot)
        {
            _region = region;
            _snapshot = snapshot;
            Version = snapshot.Number;
            RecordedChecksum = snapshot.Checksum;
            Span = snapshot.Buffer.Span;
        }

        /// <summary>The content of this version.</summary>
        public ReadOnlySpan<T> Span { get; }

        /// <summary>The version number read.</summary>
        public long Version { get; }

        /// <summary>The checksum recorded when this version was published (0 when the region records none).</summary>
        public ulong RecordedChecksum { get; }

        /// <summary>Releases the lease.</summary>
        public void Dispose()
        {
            Snapshot? s = _snapshot;
            _snapshot = null;
            if (s is not null) _region.EndRead(s);
        }
    }

    /// <summary>A write lease: <see cref="Span"/> is writable until <see cref="Commit"/> or <see cref="Dispose"/>.</summary>
    public ref struct WriteLease
    {
        private readonly SharedMemoryRegion<T> _region;
        private Snapshot? _draft;

        internal WriteLease(SharedMemoryRegion<T> region, Snapshot draft)
        {
            _region = region;
            _draft = draft;
            Span = draft.Buffer.Span;
        }

        /// <summary>The memory to write (a private copy in copy-on-write mode, the region itself in locked-write mode).</summary>
        public Span<T> Span { get; }

        /// <summary>Publishes the write as the next version and ends the lease.</summary>
        /// <exception cref="InvalidOperationException">The lease already ended.</exception>
        public void Commit()
        {
            Snapshot d = _draft ?? throw new InvalidOperationException("the write lease has already ended");
            _draft = null;
            _region.EndWrite(d, commit: true);
        }

        /// <summary>Ends the lease; without <see cref="Commit"/> a copy-on-write draft is discarded.</summary>
        public void Dispose()
        {
            Snapshot? d = _draft;
            _draft = null;
            if (d is not null) _region.EndWrite(d, commit: false);
        }
    }
}
