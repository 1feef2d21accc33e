using Crystalline.Hpc.Primes;
using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Primes;

public sealed class HierarchicalAbacusTests
{
    // A plain sieve of Eratosthenes: the reference every answer is checked against.
    private static bool[] ReferenceSieve(int n)
    {
        var prime = new bool[n];
        for (int i = 2; i < n; i++) prime[i] = true;
        for (long i = 2; i * i < n; i++)
        {
            if (!prime[i]) continue;
            for (long j = i * i; j < n; j += i) prime[j] = false;
        }
        return prime;
    }

    private static readonly bool[] s_reference = ReferenceSieve(3_000_000);

    private static long ReferenceCount(long lo, long hi)
    {
        long c = 0;
        for (long i = lo; i < hi; i++) if (IsPrimeRef(i)) c++;
        return c;
    }

    private static bool IsPrimeRef(long i) => i < s_reference.Length ? s_reference[i] : Primality.IsPrime(i);

    private static long ReferenceTwins(long lo, long hi)
    {
        long c = 0;
        for (long p = lo; p + 2 < hi; p++) if (IsPrimeRef(p) && IsPrimeRef(p + 2)) c++;
        return c;
    }

    [Theory]
    [InlineData(10L, 4L)]
    [InlineData(100L, 25L)]
    [InlineData(1_000L, 168L)]
    [InlineData(10_000L, 1_229L)]
    [InlineData(100_000L, 9_592L)]
    [InlineData(1_000_000L, 78_498L)]
    [InlineData(10_000_000L, 664_579L)]
    [InlineData(100_000_000L, 5_761_455L)]
    [InlineData(1_000_000_000L, 50_847_534L)]
    public void PrimePi_of_powers_of_ten(long n, long expected)
    {
        using var exec = new ControlProcess(2);
        using var abacus = new HierarchicalAbacus(exec);
        Assert.Equal(expected, abacus.PrimePi(n));
    }

    [Fact]
    public void Small_values_of_pi_match_the_reference()
    {
        using var abacus = new HierarchicalAbacus(new SequentialExecutor());
        long running = 0;
        for (long n = 0; n <= 2000; n++)
        {
            if (s_reference[n]) running++;
            Assert.Equal(running, abacus.PrimePi(n));
        }
    }

    [Theory]
    [InlineData(0)]        // the platform's block size
    [InlineData(4096)]     // tiny blocks: many blocks per segment, primes larger than a block
    public void Random_ranges_match_the_reference(int blockBytes)
    {
        var rng = new Random(12345 + blockBytes);
        using var exec = new ControlProcess(2);
        using var abacus = new HierarchicalAbacus(exec, blockBytes);
        for (int t = 0; t < 60; t++)
        {
            long lo = rng.NextInt64(0, s_reference.Length);
            long hi = Math.Min(s_reference.Length, lo + rng.NextInt64(0, t % 3 == 0 ? 2_000_000 : 5_000));
            Assert.Equal(ReferenceCount(lo, hi), abacus.Count(lo, hi));
        }
        // Far from zero the reference is Miller–Rabin; sieving primes reach ~10^6.
        foreach (long lo in new[] { 1_000_000_000_000L, 999_999_999_989L, 123_456_789_012_345L })
        {
            long hi = lo + rng.NextInt64(1, 60_000);
            Assert.Equal(ReferenceCount(lo, hi), abacus.Count(lo, hi));
        }
    }

    [Theory]
    [InlineData(4096)]      // segments of many blocks: large primes in buckets, some waiting for p² far ahead
    [InlineData(65536)]
    [InlineData(1 << 20)]
    [InlineData(98304)]     // not a power of two: no buckets
    public void Block_sizes_agree_with_known_counts(int blockBytes)
    {
        using var exec = new ControlProcess(2);
        using var abacus = new HierarchicalAbacus(exec, blockBytes);
        Assert.Equal(50_847_534, abacus.PrimePi(1_000_000_000));
        // Reference figures from Debian's primesieve 11.0 (`primesieve 1e12 -d1e8`, `primesieve 1e15 -d1e7`).
        Assert.Equal(3_618_282, abacus.Count(1_000_000_000_000, 1_000_100_000_000));
        Assert.Equal(289_394, abacus.Count(1_000_000_000_000_000, 1_000_000_010_000_000));
    }

    [Fact]
    public void Enumerate_matches_the_reference_and_continues()
    {
        using var abacus = new HierarchicalAbacus(new SequentialExecutor(), 4096);
        var expected = new List<long>();
        for (long i = 0; i < 1_000_000; i++) if (s_reference[i]) expected.Add(i);

        var got = new List<long>();
        Span<long> buffer = stackalloc long[997]; // odd size: continuation lands mid-block
        long lo = 0;
        while (true)
        {
            int n = abacus.Enumerate(lo, 1_000_000, buffer);
            for (int i = 0; i < n; i++) got.Add(buffer[i]);
            if (n < buffer.Length) break;
            lo = buffer[n - 1] + 1;
        }
        Assert.Equal(expected, got);

        Span<long> few = stackalloc long[10];
        int m = abacus.Enumerate(1_000_000_000_000L, 1_000_000_001_000L, few);
        Assert.Equal(10, m);
        long prev = 1_000_000_000_000L - 1;
        for (int i = 0; i < m; i++)
        {
            for (long x = prev + 1; x < few[i]; x++) Assert.False(Primality.IsPrime(x), $"{x} skipped");
            Assert.True(Primality.IsPrime(few[i]));
            prev = few[i];
        }
        Assert.Equal(0, abacus.Enumerate(24, 29, few));
        Assert.Equal(0, abacus.Enumerate(5, 5, few));
        Assert.Equal(0, abacus.Enumerate(0, 100, Span<long>.Empty));
    }

    [Fact]
    public void Next_prime()
    {
        using var abacus = new HierarchicalAbacus(new SequentialExecutor());
        Assert.Equal(144_013, abacus.NextPrime(143_999));
        Assert.Equal(2, abacus.NextPrime(0));
        Assert.Equal(2, abacus.NextPrime(1));
        Assert.Equal(3, abacus.NextPrime(2));
        Assert.Equal(5, abacus.NextPrime(3));
        Assert.Equal(7, abacus.NextPrime(5));
        for (long n = 0; n < 20_000; n += 7)
        {
            long p = n + 1;
            while (!s_reference[p]) p++;
            Assert.Equal(p, abacus.NextPrime(n));
        }
        // Both the sieve window path (< 2^42) and the Miller–Rabin path, against brute force.
        foreach (long n in new[] { (1L << 42) - 100, 1L << 42, 1_000_000_000_000_000_000L, HierarchicalAbacus.LargestPrimeBelow2Pow63 - 1000 })
        {
            long p = n + 1;
            while (!Primality.IsPrime(p)) p++;
            Assert.Equal(p, abacus.NextPrime(n));
        }
        Assert.Equal(HierarchicalAbacus.LargestPrimeBelow2Pow63, abacus.NextPrime(HierarchicalAbacus.LargestPrimeBelow2Pow63 - 1));
        Assert.True(Primality.IsPrime(HierarchicalAbacus.LargestPrimeBelow2Pow63));
        for (long x = HierarchicalAbacus.LargestPrimeBelow2Pow63 + 1; ; x++)
        {
            Assert.False(Primality.IsPrime(x));
            if (x == long.MaxValue) break;
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.NextPrime(HierarchicalAbacus.LargestPrimeBelow2Pow63));
    }

    [Fact]
    public void Nth_prime()
    {
        using var exec = new ControlProcess(2);
        using var abacus = new HierarchicalAbacus(exec);
        Assert.Equal(15_485_863, abacus.NthPrime(1_000_000));
        Assert.Equal(143_999, abacus.NthPrime(13_343)); // the lower boundary marker is the 13,343rd prime
        long k = 0;
        for (int i = 0; i < 20_000; i++)
        {
            if (!s_reference[i]) continue;
            k++;
            if (k <= 200 || k % 97 == 0) Assert.Equal(i, abacus.NthPrime(k));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.NthPrime(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.NthPrime(-5));
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.NthPrime(long.MaxValue));
    }

    [Fact]
    public void Twins_match_the_reference()
    {
        using var exec = new ControlProcess(2);
        using var small = new HierarchicalAbacus(exec, 4096); // many blocks and segments: pairs straddle both
        using var normal = new HierarchicalAbacus(exec);
        Assert.Equal(35, normal.CountTwins(0, 1001));        // pairs below 1000
        Assert.Equal(8_169, normal.CountTwins(0, 1_000_001)); // pairs below 10^6
        var rng = new Random(7);
        for (int t = 0; t < 40; t++)
        {
            long lo = t < 8 ? t : rng.NextInt64(0, 2_500_000);
            long hi = Math.Min(s_reference.Length, lo + rng.NextInt64(0, t % 4 == 0 ? 500_000 : 3_000));
            long expected = ReferenceTwins(lo, hi);
            Assert.Equal(expected, small.CountTwins(lo, hi));
            Assert.Equal(expected, normal.CountTwins(lo, hi));
        }
        // Boundary markers: (143999, 144001) is not a twin pair.
        Assert.Equal(0, normal.CountTwins(143_999, 144_002));
        Assert.Equal(1, normal.CountTwins(143_879, 143_882));
    }

    [Fact]
    public void Reports_the_boundary_markers_truthfully()
    {
        using var exec = new ControlProcess(2);
        using var abacus = new HierarchicalAbacus(exec, 4096);
        var report = abacus.Analyze(0, 1_000_000);
        Assert.Equal(2, report.BoundaryMarkers.Count);
        var lower = report.BoundaryMarkers[0];
        var upper = report.BoundaryMarkers[1];
        Assert.Equal(143_999, lower.Value);
        Assert.True(lower.IsPrime);
        Assert.Equal(144_001, upper.Value);
        Assert.False(upper.IsPrime); // 11 × 13091
        long segLower = (143_999 / 30 - report.Low / 30 / 8 * 8) / report.SegmentBytes;
        Assert.Equal(segLower, lower.Segment);
        Assert.Equal(lower.Segment % 12, lower.Sphere);
        Assert.Equal(upper.Segment % 12, upper.Sphere);

        Assert.Empty(abacus.Analyze(0, 143_999).BoundaryMarkers);
        var only = abacus.Analyze(144_000, 144_002).BoundaryMarkers;
        Assert.Single(only);
        Assert.Equal(144_001, only[0].Value);
    }

    [Fact]
    public void Residue_classes_add_up_and_match_the_reference()
    {
        using var abacus = new HierarchicalAbacus(new SequentialExecutor(), 4096);
        var report = abacus.Analyze(0, 2_000_000);
        var expected = new long[12];
        for (int i = 0; i < 2_000_000; i++) if (s_reference[i]) expected[i % 12]++;
        Assert.Equal(expected, report.ResidueCounts);
        Assert.Equal(report.PrimeCount, report.ResidueCounts.Sum());
        Assert.Equal(1, report.ResidueCounts[2]);
        Assert.Equal(1, report.ResidueCounts[3]);
    }

    [Fact]
    public void Bad_arguments_throw()
    {
        using var abacus = new HierarchicalAbacus(new SequentialExecutor());
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.Count(-1, 10));
        Assert.Throws<ArgumentException>(() => abacus.Count(10, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.PrimePi(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.NextPrime(-1));
        Assert.Throws<ArgumentException>(() => abacus.CountTwins(100, 99));
        Assert.Throws<ArgumentOutOfRangeException>(() => abacus.Enumerate(-3, 10, new long[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HierarchicalAbacus(new SequentialExecutor(), 100));
        Assert.Throws<ArgumentNullException>(() => new HierarchicalAbacus(null!));
        Assert.Equal(0, abacus.Count(10, 10));
    }

    [Fact]
    public void Thread_count_does_not_change_the_result_and_every_sphere_works()
    {
        using var seq = new HierarchicalAbacus(new SequentialExecutor());
        using var exec3 = new ControlProcess(3);
        using var par = new HierarchicalAbacus(exec3);
        foreach (var (lo, hi) in new[] { (0L, 50_000_000L), (123_456_789L, 223_456_789L), (0L, 1000L) })
        {
            var a = seq.Analyze(lo, hi, includeTwins: true);
            var b = par.Analyze(lo, hi, includeTwins: true);
            Assert.Equal(a.PrimeCount, b.PrimeCount);
            Assert.Equal(a.TwinCount, b.TwinCount);
            Assert.Equal(a.ResidueCounts, b.ResidueCounts);
            Assert.Equal(a.SegmentCount, b.SegmentCount);
            Assert.Equal(a.Spheres.Select(s => s.Primes), b.Spheres.Select(s => s.Primes));
            Assert.Equal(a.Spheres.Sum(s => s.Primes) + (lo <= 5 ? 3 : 0), a.PrimeCount);
        }
        var big = par.Analyze(0, 50_000_000);
        Assert.Equal(12, big.Spheres.Count);
        Assert.All(big.Spheres, s => Assert.True(s.Segments > 0 && s.Primes > 0, $"sphere {s.Sphere} idle"));
        for (int s = 0; s < 12; s++)
            Assert.Equal((big.SegmentCount - s + 11) / 12, big.Spheres[s].Segments); // round robin: s, s+12, …
        Assert.Equal(3, big.WorkerCount);
    }
}

public sealed class HierarchicalAbacusNearTopTests
{
    private static long Brute(long lo, long hi, out long twins)
    {
        long c = 0;
        twins = 0;
        for (long v = lo; v < hi; v++)
        {
            if (!Primality.IsPrime(v)) continue;
            c++;
            if (v + 2 < hi && v + 2 > v && Primality.IsPrime(v + 2)) twins++;
            if (v == long.MaxValue) break;
        }
        return c;
    }

    [Theory]
    [InlineData(9_223_372_036_854_770_000L, long.MaxValue)]  // up to 2^63 − 1: no overflow at the top
    [InlineData(1L << 57, (1L << 57) + 20_000)]
    [InlineData((1L << 55) - 10_000, (1L << 55) + 20_000)]   // still the sieve: ~10^7 base primes, far larger than a block
    [InlineData(100_000_000_000_000_000L, 100_000_000_000_010_000L)]
    public void Narrow_windows_near_2_pow_63(long lo, long hi)
    {
        using var abacus = new HierarchicalAbacus(new SequentialExecutor());
        long expected = Brute(lo, hi, out long twins);
        var r = abacus.Analyze(lo, hi, includeTwins: true);
        Assert.Equal(expected, r.PrimeCount);
        Assert.Equal(twins, r.TwinCount);
        Assert.Equal(r.PrimeCount, r.ResidueCounts.Sum());
        Span<long> buf = stackalloc long[64];
        int n = abacus.Enumerate(lo, hi, buf);
        Assert.Equal(Math.Min(64, expected), n);
        long v = lo;
        for (int i = 0; i < n; i++)
        {
            while (!Primality.IsPrime(v)) v++;
            Assert.Equal(v, buf[i]);
            v++;
        }
    }
}
