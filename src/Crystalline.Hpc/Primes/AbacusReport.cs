namespace Crystalline.Hpc.Primes;

/// <summary>What one call of <see cref="HierarchicalAbacus.Analyze"/> found and how the work was spread.</summary>
public sealed class AbacusReport
{
    internal AbacusReport(long low, long high, long primeCount, long? twinCount, long[] residueCounts,
        SphereReport[] spheres, BoundaryMarkerReport[] markers, int segmentCount, long segmentBytes,
        int blockBytes, int workerCount, TimeSpan elapsed)
    {
        Low = low;
        High = high;
        PrimeCount = primeCount;
        TwinCount = twinCount;
        ResidueCounts = residueCounts;
        Spheres = spheres;
        BoundaryMarkers = markers;
        SegmentCount = segmentCount;
        SegmentBytes = segmentBytes;
        BlockBytes = blockBytes;
        WorkerCount = workerCount;
        Elapsed = elapsed;
    }

    /// <summary>Inclusive lower end of the range.</summary>
    public long Low { get; }

    /// <summary>Exclusive upper end of the range.</summary>
    public long High { get; }

    /// <summary>Primes p with Low ≤ p &lt; High.</summary>
    public long PrimeCount { get; }

    /// <summary>Twin pairs (p, p + 2) with both members in [Low, High); null when not asked for.</summary>
    public long? TwinCount { get; }

    /// <summary>Primes per residue class mod 12 (index 0 … 11); primes above 3 lie only in 1, 5, 7, 11.</summary>
    public IReadOnlyList<long> ResidueCounts { get; }

    /// <summary>Per leaf sphere: segments dealt to it (segment s → sphere s mod SphereCount), primes found, time spent.</summary>
    public IReadOnlyList<SphereReport> Spheres { get; }

    /// <summary>The 144000 boundary markers 143999 and 144001 that lie in the range: which sphere held each, and whether it is prime.</summary>
    public IReadOnlyList<BoundaryMarkerReport> BoundaryMarkers { get; }

    /// <summary>Number of segments the range was cut into.</summary>
    public int SegmentCount { get; }

    /// <summary>Wheel bytes per segment (30 numbers per byte).</summary>
    public long SegmentBytes { get; }

    /// <summary>Bytes of the cache-sized sieve block each segment is sieved in.</summary>
    public int BlockBytes { get; }

    /// <summary>Physical worker threads of the executor.</summary>
    public int WorkerCount { get; }

    /// <summary>Wall time of the call.</summary>
    public TimeSpan Elapsed { get; }
}

/// <summary>One leaf sphere's share of a count.</summary>
/// <param name="Sphere">Sphere index (0 … SphereCount−1); its symmetry group is Sphere mod 12.</param>
/// <param name="Segments">Segments dealt to it.</param>
/// <param name="Primes">Primes it found (2, 3 and 5 are counted by the parent, not a sphere).</param>
/// <param name="SieveTime">Time it spent sieving and counting.</param>
/// <param name="LastWorker">The worker thread that ran it last (−1: no segment).</param>
public readonly record struct SphereReport(int Sphere, int Segments, long Primes, TimeSpan SieveTime, int LastWorker);

/// <summary>A 144000 boundary marker inside the counted range.</summary>
/// <param name="Value">143999 or 144001.</param>
/// <param name="IsPrime">What the sieve found (143999 is prime; 144001 = 11 × 13091 is not).</param>
/// <param name="Sphere">The sphere whose segment held it.</param>
/// <param name="Segment">The segment index that held it.</param>
public readonly record struct BoundaryMarkerReport(long Value, bool IsPrime, int Sphere, int Segment);
