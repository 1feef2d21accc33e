using System.Runtime.CompilerServices;
using Crystalline.Hpc.Platform;

namespace Crystalline.Hpc.Memory;

/// <summary>
/// A native, 64-byte-aligned buffer of unmanaged <typeparamref name="T"/>, optionally placed on a NUMA
/// node. Zero-initialised. Dispose it; a finalizer frees it as a safety net if you forget.
/// </summary>
public sealed unsafe class AlignedBuffer<T> : IDisposable where T : unmanaged
{
    /// <summary>Alignment of every buffer, in bytes (one cache line, one AVX-512 register).</summary>
    public const int Alignment = 64;

    private nint _pointer; // T*, stored as nint so Dispose can swap it atomically
    private readonly nuint _bytes;
    private readonly IPlatform _platform; // the allocator must also free: NUMA memory comes from a different heap
    private readonly NativeMemoryScope? _scope; // leak accounting: the free is charged to the scope that saw the allocation

    /// <summary>
    /// Allocates <paramref name="length"/> elements, zeroed, on <paramref name="numaNode"/> (−1: no preference)
    /// through <see cref="PlatformServices.Current"/>: libnuma or VirtualAllocExNuma where available, else
    /// first touch (see <see cref="IPlatform.NumaAllocationPolicy"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">length is negative, or numaNode is below −1 or not a node of this machine.</exception>
    /// <exception cref="OutOfMemoryException">the allocation failed.</exception>
    public AlignedBuffer(long length, int numaNode = -1)
        : this(length, numaNode, PlatformServices.Current)
    {
    }

    /// <summary>Allocates through a given back end (tests use platforms with capabilities switched off).</summary>
    internal AlignedBuffer(long length, int numaNode, IPlatform platform)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(numaNode, -1);
        ArgumentNullException.ThrowIfNull(platform);
        Length = length;
        NumaNode = numaNode;
        _platform = platform;
        _bytes = checked((nuint)length * (nuint)sizeof(T));
        _pointer = (nint)platform.AllocateAligned(_bytes, numaNode);
        if (_pointer == 0) throw new OutOfMemoryException($"could not allocate {_bytes} aligned bytes");
        _scope = NativeMemoryTracker.CurrentScope;
        NativeMemoryTracker.Add((long)_bytes, _scope);
        // Zeroing here is also the first touch that places the pages (on the node when the platform
        // pinned a toucher or bound the memory; else near the allocating thread).
        ClearMemory();
    }

    /// <summary>True once disposed (or finalized).</summary>
    public bool IsDisposed => Volatile.Read(ref _pointer) == 0;

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>The NUMA node asked for (−1: none).</summary>
    public int NumaNode { get; }

    /// <summary>Size in bytes.</summary>
    public long ByteLength => (long)_bytes;

    /// <summary>Pointer to the first element (64-byte aligned).</summary>
    public T* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == 0, this);
            return (T*)_pointer;
        }
    }

    /// <summary>The whole buffer as a span (length must fit in an int).</summary>
    public Span<T> Span => new(Pointer, checked((int)Length));

    /// <summary>A slice of the buffer as a span.</summary>
    public Span<T> Slice(long start, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (start + length > Length) throw new ArgumentOutOfRangeException(nameof(length), "slice runs past the end of the buffer");
        return new Span<T>(Pointer + start, length);
    }

    private void ClearMemory()
    {
        byte* p = (byte*)_pointer;
        nuint left = _bytes;
        while (left > 0)
        {
            uint chunk = (uint)Math.Min(left, (nuint)int.MaxValue);
            Unsafe.InitBlockUnaligned(p, 0, chunk);
            p += chunk;
            left -= chunk;
        }
    }

    /// <summary>Frees the memory. Safe to call more than once.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~AlignedBuffer() => Free();

    private void Free()
    {
        nint p = Interlocked.Exchange(ref _pointer, 0);
        if (p == 0) return;
        _platform.FreeAligned((void*)p, _bytes);
        NativeMemoryTracker.Add(-(long)_bytes, _scope);
    }
}

/// <summary>Counts native bytes held by <see cref="AlignedBuffer{T}"/> so tests can assert nothing leaked.</summary>
public static class NativeMemoryTracker
{
    private static long s_liveBytes;
    private static readonly AsyncLocal<NativeMemoryScope?> s_scope = new();

    /// <summary>Native bytes currently allocated and not yet freed, process-wide.</summary>
    public static long LiveBytes => Interlocked.Read(ref s_liveBytes);

    /// <summary>
    /// Starts a scope that counts the buffers allocated from here on in this execution flow (and the
    /// threads and tasks it starts), wherever and whenever they are freed — the finalizer thread
    /// included. Unlike <see cref="LiveBytes"/>, it does not see other tests' buffers, so a leak check
    /// on it is not disturbed by tests running in parallel or by other threads' buffers being finalized.
    /// Scopes nest: a buffer counts in its scope and every enclosing one.
    /// </summary>
    internal static NativeMemoryScope BeginScope() => new(s_scope);

    /// <summary>The innermost scope of the calling flow, captured by each new buffer.</summary>
    internal static NativeMemoryScope? CurrentScope => s_scope.Value;

    internal static void Add(long bytes, NativeMemoryScope? scope)
    {
        Interlocked.Add(ref s_liveBytes, bytes);
        for (var s = scope; s is not null; s = s.Parent) s.Add(bytes);
    }
}

/// <summary>A leak-accounting scope from <see cref="NativeMemoryTracker.BeginScope"/>; Dispose ends it (counting stops for new buffers only).</summary>
internal sealed class NativeMemoryScope : IDisposable
{
    private readonly AsyncLocal<NativeMemoryScope?> _slot;
    private long _liveBytes;

    internal NativeMemoryScope(AsyncLocal<NativeMemoryScope?> slot)
    {
        _slot = slot;
        Parent = slot.Value;
        slot.Value = this;
    }

    internal NativeMemoryScope? Parent { get; }

    /// <summary>Bytes of this scope's buffers not yet freed.</summary>
    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    internal void Add(long bytes) => Interlocked.Add(ref _liveBytes, bytes);

    public void Dispose()
    {
        if (ReferenceEquals(_slot.Value, this)) _slot.Value = Parent;
    }
}
