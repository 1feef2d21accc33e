using System.Diagnostics;
using Crystalline.Hpc.Lattice;
using Crystalline.Hpc.Platform;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Primes;

/// <summary>
/// The hierarchical abacus: a parallel segmented sieve of Eratosthenes on the mod-30 wheel
/// (8 numbers per byte, pre-sieved patterns for 7 … 163, popcount counting). The parent holds the
/// base primes up to √high, read-only while its child spheres run; the range is cut into segments
/// dealt round robin (segment s → sphere s mod SphereCount) so all 12 groups get work, and each
/// sphere sieves its segments in cache-sized blocks on whatever worker the executor gives it.
/// </summary>
/// <remarks>
/// One call at a time: calls on one instance are serialized by a lock (the sieve state is reused).
/// Every number is a non-negative <see cref="long"/>, so every range lies below 2^63; arguments
/// outside that (negative, high &lt; low) throw <see cref="ArgumentException"/>s. Memory grows with
/// √high: the base primes below √high are kept (4 bytes each; about 585 MB near 2^63).
/// </remarks>
public sealed unsafe class HierarchicalAbacus : IDisposable
{
    /// <summary>The largest prime below 2^63 (2^63 − 25).</summary>
    public const long LargestPrimeBelow2Pow63 = 9_223_372_036_854_775_783;

    private const long MarkerLower = LatticeConstants.TwinPrimeLower; // 143999, prime
    private const long MarkerUpper = LatticeConstants.TwinPrimeUpper; // 144001 = 11 × 13091

    private readonly ISphereExecutor _executor;
    private readonly object _gate = new();
    private readonly SieveWorker[] _workers;
    private readonly SieveWorker _cursor;
    private readonly CountWork _countWork;
    private uint[] _sieving = [];    // primes 167 … ≤ _baseLimit, ascending
    private int _sievingCount;
    private long _baseLimit = 166;   // every prime ≤ this is known
    private bool _disposed;

    /// <summary>An abacus whose spheres run on <paramref name="executor"/> (not owned: the caller disposes it).</summary>
    /// <param name="executor">The scheduler: <see cref="SequentialExecutor"/> or the control process.</param>
    /// <param name="blockBytes">Sieve block per worker in bytes (multiple of 64); 0 picks it from the platform's L2 size.</param>
    /// <exception cref="ArgumentNullException">executor is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">blockBytes is negative or not a multiple of 64.</exception>
    public HierarchicalAbacus(ISphereExecutor executor, int blockBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentOutOfRangeException.ThrowIfNegative(blockBytes);
        if (blockBytes % 64 != 0) throw new ArgumentOutOfRangeException(nameof(blockBytes), blockBytes, "block size must be a multiple of 64 bytes");
        var topology = PlatformServices.Current.Topology;
        if (blockBytes == 0) blockBytes = DefaultBlockBytes(topology.L2Bytes);
        int chunkBytes = DefaultChunkBytes(topology.L1DataBytes, blockBytes);
        _executor = executor;
        SphereCount = executor.SphereCount;
        _workers = new SieveWorker[executor.WorkerCount];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new SieveWorker(blockBytes, chunkBytes);
        _cursor = new SieveWorker(blockBytes, chunkBytes, uniformBlocks: false); // walks grow their blocks
        _countWork = new CountWork(this);
        BlockBytes = blockBytes;
    }

    /// <summary>The report of the most recent parallel count (also the one inside <see cref="NthPrime"/>); null before any.</summary>
    public AbacusReport? LastReport { get; private set; }

    /// <summary>Leaf spheres the range is dealt to (12 at depth 1).</summary>
    public int SphereCount { get; }

    /// <summary>Sieve block per worker, in bytes (30 numbers per byte).</summary>
    public int BlockBytes { get; }

    // Half of L2 for the block: the block, the pre-sieve patterns (~320 KB) and the crossing state share
    // L2. Measured at 1e10 on Zen 4 (docs/primes.md): 512 KiB and 1 MiB blocks ran ~10% faster than
    // 256 KiB, because each medium prime pays its loop set-up once per block.
    internal static int DefaultBlockBytes(long l2Bytes)
    {
        long b = l2Bytes > 0 ? l2Bytes / 2 : 512 * 1024;
        b = Math.Clamp(b, 32 * 1024, 1024 * 1024);
        return (int)(b & ~63L);
    }

    // Small primes are crossed off one L1-sized chunk at a time so their many writes hit L1; capped
    // at the 32 KiB that measured best (a 24 KiB chunk was ~3% slower on a 32 KiB L1).
    internal static int DefaultChunkBytes(long l1Bytes, int blockBytes)
    {
        long c = l1Bytes > 0 ? l1Bytes : 32 * 1024;
        c = Math.Clamp(c, 4 * 1024, Math.Min(32 * 1024, blockBytes));
        return (int)(c & ~1023L);
    }

    /// <summary>π(n): the number of primes p ≤ n.</summary>
    /// <exception cref="ArgumentOutOfRangeException">n is negative.</exception>
    public long PrimePi(long n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        return n == long.MaxValue ? Count(0, long.MaxValue) + (Primality.IsPrime(n) ? 1 : 0) : Count(0, n + 1);
    }

    /// <summary>The number of primes p with <paramref name="low"/> ≤ p &lt; <paramref name="high"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">low is negative.</exception>
    /// <exception cref="ArgumentException">high &lt; low.</exception>
    public long Count(long low, long high) => Analyze(low, high, includeTwins: false).PrimeCount;

    /// <summary>Twin pairs (p, p + 2) with low ≤ p and p + 2 &lt; high.</summary>
    /// <exception cref="ArgumentOutOfRangeException">low is negative.</exception>
    /// <exception cref="ArgumentException">high &lt; low.</exception>
    public long CountTwins(long low, long high) => Analyze(low, high, includeTwins: true).TwinCount!.Value;

    /// <summary>
    /// Counts the primes in [low, high) (and the twin pairs inside it when asked), with the statistics:
    /// primes per residue class mod 12, per-sphere work, and the 144000 boundary markers in range.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">low is negative.</exception>
    /// <exception cref="ArgumentException">high &lt; low.</exception>
    public AbacusReport Analyze(long low, long high, bool includeTwins = false)
    {
        CheckRange(low, high);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _countWork.Run(low, high, includeTwins);
        }
    }

    /// <summary>
    /// Writes the primes p with low ≤ p &lt; high, ascending, into <paramref name="destination"/> until it is
    /// full; returns how many were written. To continue, call again with low = the last prime written + 1.
    /// Allocates nothing per prime.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">low is negative.</exception>
    /// <exception cref="ArgumentException">high &lt; low.</exception>
    public int Enumerate(long low, long high, Span<long> destination)
    {
        CheckRange(low, high);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return EnumerateCore(low, high, destination);
        }
    }

    /// <summary>The smallest prime &gt; <paramref name="n"/> (2 for every n &lt; 2).</summary>
    /// <exception cref="ArgumentOutOfRangeException">n is negative, or the next prime is beyond 2^63 − 1 (n ≥ 2^63 − 25).</exception>
    public long NextPrime(long n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (n >= LargestPrimeBelow2Pow63)
            throw new ArgumentOutOfRangeException(nameof(n), n, "the next prime after n is beyond 2^63 - 1");
        if (n < 2) return 2;
        if (n < 3) return 3;
        if (n < 5) return 5;
        if (n < (1L << 42))
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                Span<long> one = stackalloc long[1];
                long from = n + 1;
                long window = 4096;
                while (true)
                {
                    long to = from + window;
                    if (EnumerateCore(from, to, one) == 1) return one[0];
                    from = to;
                    window *= 2;
                }
            }
        }
        // Beyond 2^42 the base primes of a window would dwarf the search: test wheel candidates with
        // the exact Miller–Rabin instead (gaps are ~ln n, so a few dozen tests).
        long c = n + 1;
        c += Wheel30.NextCoprimeDelta[c % 30];
        while (!Primality.IsPrime(c))
        {
            c++;
            c += Wheel30.NextCoprimeDelta[c % 30];
        }
        return c;
    }

    /// <summary>
    /// The n-th prime (p₁ = 2). Finds a start just below it from the inverse logarithmic integral
    /// (falling back to Dusart's proven lower bound n(ln n + ln ln n − 1) if that overshoots), counts
    /// the primes below the start in parallel, then sieves forward to the n-th.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">n &lt; 1, or the n-th prime is beyond 2^63 − 1.</exception>
    public long NthPrime(long n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (n <= 3) return n == 1 ? 2 : n == 2 ? 3 : 5;
        double lower = PrimeBounds.NthPrimeLowerBound(n);
        if (lower >= 9.2e18) throw new ArgumentOutOfRangeException(nameof(n), n, "the n-th prime is beyond 2^63 - 1");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long start = Math.Max(7, (long)Math.Max(lower, PrimeBounds.InverseLi(n) * (1 - 1e-9)));
            long below = _countWork.Run(0, start, false).PrimeCount;
            if (below >= n)
            {
                start = Math.Max(7, (long)lower);
                below = _countWork.Run(0, start, false).PrimeCount;
            }
            long result = FindForward(start, n - below);
            if (result < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "the n-th prime is beyond 2^63 - 1");
            return result;
        }
    }

    private static void CheckRange(long low, long high)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(low);
        if (high < low) throw new ArgumentException($"high ({high}) must not be below low ({low})", nameof(high));
    }

    internal static long ISqrt(long n)
    {
        if (n <= 0) return 0;
        long r = (long)Math.Sqrt(n);
        while (r > 0 && r > n / r) r--;
        while ((r + 1) <= n / (r + 1)) r++;
        return r;
    }

    /// <summary>Makes every prime ≤ <paramref name="limit"/> available as a sieving prime (grows, never shrinks).</summary>
    private void EnsureBasePrimes(long limit)
    {
        if (limit <= _baseLimit) return;
        // Grow with headroom so a walk that creeps upward does not rebuild for every segment.
        long target = Math.Max(limit, Math.Min(_baseLimit * 2, 3_037_000_499L));
        target = Math.Max(target, limit);
        var list = BasePrimes.Below(target + 1);
        _sieving = list.Primes;
        _sievingCount = list.Count;
        _baseLimit = target;
    }

    private static long WheelByteEnd(long high) => (((high - 1) / 30 + 1) + 7) & ~7L;

    // ---- sequential walks (enumerate, next, n-th) on the calling thread ----

    private interface IBlockVisitor
    {
        /// <summary>Returns false to stop.</summary>
        unsafe bool Visit(byte* buffer, long blockStart, int length);
    }

    private unsafe void Walk<TVisitor>(long low, long high, ref TVisitor visitor) where TVisitor : struct, IBlockVisitor
    {
        if (high <= low || high <= 7) return;
        long start = (low / 30) & ~7L;
        long end = WheelByteEnd(high);
        int blockLen = 1024; // start small: a short walk should not sieve a whole block
        while (start < end)
        {
            long segEnd = Math.Min(end, start + 16L * BlockBytes);
            long segTop = segEnd > (high - 1) / 30 ? high : 30 * segEnd; // numbers in the segment are below this (no overflow near 2^63)
            EnsureBasePrimes(ISqrt(segTop - 1));
            _cursor.BeginSegment(_sieving, _sievingCount, start, segEnd);
            long pos = start;
            while (pos < segEnd)
            {
                int len = (int)Math.Min(blockLen, segEnd - pos);
                _cursor.SieveNextBlock(len);
                byte* buf = _cursor.Buffer;
                SieveWorker.MaskRange(buf, pos, len, low, high);
                if (!visitor.Visit(buf, pos, len)) return;
                pos += len;
                blockLen = Math.Min(blockLen * 2, BlockBytes);
            }
            start = segEnd;
        }
    }

    private struct ExtractVisitor : IBlockVisitor
    {
        public unsafe long* Destination;
        public int Capacity;
        public int Written;

        public unsafe bool Visit(byte* buffer, long blockStart, int length)
        {
            var span = new Span<long>(Destination + Written, Capacity - Written);
            Written += SieveWorker.Extract(buffer, blockStart, length, 0, span);
            return Written < Capacity;
        }
    }

    // Above this the base primes below √n run into the tens of millions: narrow windows are cheaper
    // with the exact Miller–Rabin on the wheel's candidates than with a sieve.
    private const long MillerRabinFloor = 1L << 56;
    private const long MillerRabinMaxWidth = 1L << 22;

    private static bool IsWheelCandidate(long v) => Wheel30.ResidueIndex[v % 30] != 255;

    private unsafe int EnumerateCore(long low, long high, Span<long> destination)
    {
        if (low >= MillerRabinFloor)
        {
            int n = 0;
            for (long v = low; v < high && n < destination.Length; v++)
            {
                if (IsWheelCandidate(v) && Primality.IsPrime(v)) destination[n++] = v;
                if (v == long.MaxValue) break;
            }
            return n;
        }
        int written = 0;
        foreach (long small in (ReadOnlySpan<long>)[2, 3, 5])
        {
            if (written == destination.Length) return written;
            if (small >= low && small < high) destination[written++] = small;
        }
        if (written == destination.Length) return written;
        fixed (long* d = destination)
        {
            var v = new ExtractVisitor { Destination = d + written, Capacity = destination.Length - written };
            Walk(Math.Max(low, 7), high, ref v);
            return written + v.Written;
        }
    }

    private struct NthVisitor : IBlockVisitor
    {
        public long Remaining; // the Remaining-th prime from here is wanted
        public long Result;

        public unsafe bool Visit(byte* buffer, long blockStart, int length)
        {
            long count = SieveWorker.PopCount(buffer, length);
            if (count < Remaining)
            {
                Remaining -= count;
                return true;
            }
            long one = 0;
            SieveWorker.Extract(buffer, blockStart, length, Remaining - 1, new Span<long>(&one, 1));
            Result = one;
            return false;
        }
    }

    /// <summary>The <paramref name="rank"/>-th prime ≥ start (start ≥ 7), or −1 if it is beyond 2^63 − 1.</summary>
    private long FindForward(long start, long rank)
    {
        var v = new NthVisitor { Remaining = rank, Result = -1 };
        Walk(start, long.MaxValue, ref v);
        return v.Result;
    }

    /// <summary>Frees the sieve buffers. Does not dispose the executor.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var w in _workers) w.Dispose();
            _cursor.Dispose();
        }
    }

    // ---- the parallel count: one epoch, every sphere sieves its dealt segments ----

    private sealed unsafe class CountWork(HierarchicalAbacus owner) : ISphereWork
    {
        private long _low, _high, _start, _end, _segBytes;
        private int _segCount;
        private bool _twins;
        private long[] _segClasses = [];   // 4 per segment: classes 1, 5, 7, 11 mod 12
        private long[] _segTwins = [];
        private byte[] _segEdges = [];     // bit 0: first number of the segment prime (1 mod 30); bit 1: last (29 mod 30)
        private int[] _sphereSegments = [];
        private long[] _spherePrimes = [];
        private long[] _sphereTicks = [];
        private int[] _sphereWorker = [];
        private readonly BoundaryMarkerReport?[] _markers = new BoundaryMarkerReport?[2];

        public AbacusReport Run(long low, long high, bool twins)
        {
            long t0 = Stopwatch.GetTimestamp();
            int spheres = owner.SphereCount;
            var residues = new long[12];
            long count = 0, twinCount = 0;
            foreach (long small in (ReadOnlySpan<long>)[2, 3, 5])
            {
                if (small >= low && small < high) { count++; residues[small % 12]++; }
            }
            if (twins)
            {
                if (low <= 3 && 5 < high) twinCount++;
                if (low <= 5 && 7 < high) twinCount++;
            }
            EnsureSize(spheres);
            Array.Clear(_sphereSegments);
            Array.Clear(_spherePrimes);
            Array.Clear(_sphereTicks);
            _sphereWorker.AsSpan().Fill(-1);
            _markers[0] = _markers[1] = null;
            _segCount = 0;
            _segBytes = 0;
            if (high > MillerRabinFloor && high - low <= MillerRabinMaxWidth)
            {
                // A narrow window near 2^63: test candidates one by one (no segments, no sphere work).
                bool primeMinus1 = false, primeMinus2 = false; // primality of v − 1 and v − 2 (inside the window)
                for (long v = low; v < high; v++)
                {
                    bool prime = IsWheelCandidate(v) && Primality.IsPrime(v);
                    if (prime) { count++; residues[v % 12]++; }
                    if (twins && prime && primeMinus2) twinCount++;
                    primeMinus2 = primeMinus1;
                    primeMinus1 = prime;
                }
            }
            else if (high > 7 && high > low)
            {
                _low = low;
                _high = high;
                _twins = twins;
                _start = (low / 30) & ~7L;
                _end = WheelByteEnd(high);
                owner.EnsureBasePrimes(ISqrt(high - 1));
                long total = _end - _start;
                int sieving = CountAtMost(owner._sieving, owner._sievingCount, ISqrt(high - 1));
                // ~8 segments per sphere so uneven workers still balance; a floor keeps each segment's
                // start-up (a division per sieving prime, ~100 cycles) small next to its sieving (16 bytes per
                // prime measured best on 10^9-wide windows at 1e12 … 1e16) — a narrow window high up stays
                // one segment, at the price of fewer busy spheres there.
                long seg = RoundUp64((total + 95) / 96);
                long floor = RoundUp64(Math.Max(1024L, 16L * sieving));
                seg = Math.Max(seg, floor);
                _segBytes = seg;
                long segCount = (total + seg - 1) / seg;
                if (segCount > int.MaxValue / 8) throw new ArgumentException("range too large for this block size", nameof(high));
                _segCount = (int)segCount;
                if (_segClasses.Length < 4 * _segCount)
                {
                    _segClasses = new long[4 * _segCount];
                    _segTwins = new long[_segCount];
                    _segEdges = new byte[_segCount];
                }
                owner._executor.RunEpoch(this);
                long before = residues[1] + residues[5] + residues[7] + residues[11]; // 5, when in range
                for (int s = 0; s < _segCount; s++)
                {
                    residues[1] += _segClasses[4 * s];
                    residues[5] += _segClasses[4 * s + 1];
                    residues[7] += _segClasses[4 * s + 2];
                    residues[11] += _segClasses[4 * s + 3];
                    if (twins)
                    {
                        twinCount += _segTwins[s];
                        // A pair (30b + 29, 30b + 31) can straddle two segments.
                        if (s > 0 && (_segEdges[s - 1] & 2) != 0 && (_segEdges[s] & 1) != 0) twinCount++;
                    }
                }
                count += residues[1] + residues[5] + residues[7] + residues[11] - before;
            }
            var sphereReports = new SphereReport[spheres];
            for (int s = 0; s < spheres; s++)
                sphereReports[s] = new SphereReport(s, _sphereSegments[s], _spherePrimes[s], Stopwatch.GetElapsedTime(0, _sphereTicks[s]), _sphereWorker[s]);
            var markers = new List<BoundaryMarkerReport>(2);
            foreach (var m in _markers) if (m is { } mm) markers.Add(mm);
            var report = new AbacusReport(low, high, count, twins ? twinCount : null, residues, sphereReports, markers.ToArray(),
                _segCount, _segBytes, owner.BlockBytes, owner._executor.WorkerCount, Stopwatch.GetElapsedTime(t0));
            owner.LastReport = report;
            return report;
        }

        private static long RoundUp64(long x) => (x + 63) & ~63L;

        private static int CountAtMost(uint[] ascending, int count, long limit)
        {
            int lo = 0, hi = count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (ascending[mid] <= limit) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        private void EnsureSize(int spheres)
        {
            if (_sphereSegments.Length == spheres) return;
            _sphereSegments = new int[spheres];
            _spherePrimes = new long[spheres];
            _sphereTicks = new long[spheres];
            _sphereWorker = new int[spheres];
        }

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            long t0 = Stopwatch.GetTimestamp();
            var worker = owner._workers[workerIndex];
            int segments = 0;
            long primes = 0;
            for (int s = sphereIndex; s < _segCount; s += owner.SphereCount)
            {
                primes += SieveSegment(worker, s, sphereIndex);
                segments++;
            }
            _sphereSegments[sphereIndex] = segments;
            _spherePrimes[sphereIndex] = primes;
            _sphereTicks[sphereIndex] = Stopwatch.GetTimestamp() - t0;
            if (segments > 0) _sphereWorker[sphereIndex] = workerIndex;
        }

        private long SieveSegment(SieveWorker worker, int segment, int sphere)
        {
            long segStart = _start + segment * _segBytes;
            long segEnd = Math.Min(_end, segStart + _segBytes);
            worker.BeginSegment(owner._sieving, owner._sievingCount, segStart, segEnd);
            long c1 = 0, c5 = 0, c7 = 0, c11 = 0, twins = 0;
            byte edges = 0;
            int prevLast29 = 0;
            byte* buf = worker.Buffer;
            for (long pos = segStart; pos < segEnd;)
            {
                int len = (int)Math.Min(worker.BlockBytes, segEnd - pos);
                worker.SieveNextBlock(len);
                SieveWorker.MaskRange(buf, pos, len, _low, _high);
                SieveWorker.CountClasses(buf, len, ref c1, ref c5, ref c7, ref c11);
                if (_twins)
                {
                    twins += SieveWorker.CountTwinsInside(buf, len);
                    int first1 = buf[0] & 1;
                    if (pos == segStart) edges |= (byte)first1;
                    else twins += prevLast29 & first1;
                    prevLast29 = buf[len - 1] >> 7;
                }
                CheckMarker(buf, pos, len, MarkerLower, 0, segment, sphere);
                CheckMarker(buf, pos, len, MarkerUpper, 1, segment, sphere);
                pos += len;
            }
            if (_twins) edges |= (byte)(prevLast29 << 1);
            _segClasses[4 * segment] = c1;
            _segClasses[4 * segment + 1] = c5;
            _segClasses[4 * segment + 2] = c7;
            _segClasses[4 * segment + 3] = c11;
            _segTwins[segment] = twins;
            _segEdges[segment] = edges;
            return c1 + c5 + c7 + c11;
        }

        private void CheckMarker(byte* buf, long blockStart, int len, long value, int slot, int segment, int sphere)
        {
            if (value < _low || value >= _high) return;
            bool prime = SieveWorker.BitOf(buf, blockStart, len, value, out bool present);
            if (present) _markers[slot] = new BoundaryMarkerReport(value, prime, sphere, segment);
        }
    }
}
