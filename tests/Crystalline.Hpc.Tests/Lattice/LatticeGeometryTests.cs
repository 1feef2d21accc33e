using Crystalline.Hpc.Lattice;
using Crystalline.Hpc.Primes;
using Xunit;

namespace Crystalline.Hpc.Tests.Lattice;

public class LatticeGeometryTests
{
    [Fact]
    public void Clock_rings_are_contiguous_and_bad_indices_throw()
    {
        int[] firstOfRing = [0, 12, 72, 132, 232];
        int[] sizes = [12, 60, 60, 100, 1000];
        for (long i = 0; i < 3000; i++)
        {
            ClockPosition c = BabylonianClock.FromIndex(i);
            Assert.Equal(sizes[c.Ring], c.RingSize);
            Assert.Equal(i - firstOfRing[c.Ring], c.Position);
            Assert.Equal(0.25 * (c.Ring + 1), c.Radius);
            if (c.Ring < 4) Assert.InRange(c.Position, 0, c.RingSize - 1);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => BabylonianClock.FromIndex(-1));
        Assert.Equal(4, BabylonianClock.FromIndex(long.MaxValue).Ring);
    }

    [Theory]
    [InlineData(0.0, 0, 0.0)]
    [InlineData(Math.PI, 6, 0.0)]
    [InlineData(Math.PI / 2, 3, 0.0)]
    [InlineData(2 * Math.PI * 3.5 / 12, 3, 30.0)]
    [InlineData(-Math.PI / 12, 11, 30.0)]
    [InlineData(2 * Math.PI + Math.PI / 4, 1, 30.0)]
    public void Clock_from_angle(double theta, int hour, double minute)
    {
        ClockTime t = BabylonianClock.FromAngle(theta);
        Assert.Equal(hour, t.Hour);
        Assert.Equal(minute, t.Minute, 1e-9);
    }

    [Fact]
    public void Clock_from_angle_reads_back_the_angle_and_rejects_non_finite()
    {
        var rng = new Random(5);
        var hours = new HashSet<int>();
        for (int i = 0; i < 5000; i++)
        {
            double theta = rng.NextDouble() * Math.Tau;
            ClockTime t = BabylonianClock.FromAngle(theta);
            Assert.InRange(t.Hour, 0, 11);
            Assert.InRange(t.Minute, 0.0, Math.BitDecrement(60.0));
            Assert.Equal(theta / Math.Tau * 12, t.Hour + t.Minute / 60, 1e-9);
            hours.Add(t.Hour);
        }
        Assert.Equal(12, hours.Count);
        Assert.Throws<ArgumentException>(() => BabylonianClock.FromAngle(double.NaN));
        Assert.Throws<ArgumentException>(() => BabylonianClock.FromAngle(double.PositiveInfinity));
        // Just below 2π: frac·60 can round to 60; it must read as the next hour, minute 0, not minute 60.
        ClockTime edge = BabylonianClock.FromAngle(Math.BitDecrement(Math.Tau));
        Assert.InRange(edge.Minute, 0.0, Math.BitDecrement(60.0));
    }

    [Fact]
    public void Theta_is_in_0_to_2pi_for_many_inputs_and_groups_0_to_11_are_all_reached()
    {
        var rng = new Random(2026);
        var groups = new HashSet<int>();
        string[] tokens = ["", "a", "e", "i", "o", "u", "s", "z", "f", "v", "t", "d", "k", "g", "p", "b", "m", "n", "l", "r", "w", "y", "x", " the", "Ü", "9"];
        for (int i = 0; i < 20000; i++)
        {
            long p = i < 10000 ? i : rng.NextInt64(0, long.MaxValue);
            long k = rng.Next(3) switch { 0 => i, 1 => rng.NextInt64(0, 1L << 40), _ => rng.NextInt64(0, long.MaxValue) };
            int n = rng.Next(-5, int.MaxValue);
            double theta = AngularPosition.Theta(p, k, n, tokens[i % tokens.Length]);
            Assert.True(theta >= 0.0 && theta < Math.Tau, $"θ({p}, {k}, {n}) = {theta:R}");
            groups.Add(BabylonianClock.FromAngle(theta).Hour);
            groups.Add(BabylonianClock.SymmetryGroup(k));
        }
        Assert.Equal(12, groups.Count);
    }

    [Fact]
    public void Theta_terms_follow_their_definitions()
    {
        // Spiral and index terms agree with the direct double formula where that is still accurate (small k, n).
        for (long k = 0; k < 200; k++)
            Assert.Equal(AngularPosition.Reduce(k * Math.PI * (1 + Math.Sqrt(5))), AngularPosition.SpiralTerm(k), 1e-12);
        for (int n = 2; n < 200; n++)
            Assert.Equal(AngularPosition.Reduce((n - 1) * Math.Tau / (12 * Math.Log(3))), AngularPosition.IndexTerm(n), 1e-12);
        Assert.Equal(0.0, AngularPosition.IndexTerm(1));
        Assert.Equal(0.0, AngularPosition.IndexTerm(0));
        Assert.Equal(0.0, AngularPosition.IndexTerm(-7));
        Assert.Equal(6.2877098228681538, AngularPosition.PhoneticTerm(0.343), 1e-14); // log₃ 1000
        ThetaTerms t = AngularPosition.Compute(143999, 13343, 12, AngularPosition.Wavelength("Zeta"));
        Assert.Equal(AngularPosition.Reduce(t.Spiral + t.Index + t.Phonetic + t.Omega + t.Psi), t.Theta);
        Assert.Equal(2 * LatticeConstants.Lambda / (1 + 1.0 / 144000), t.Omega, 1e-20);
        Assert.Throws<ArgumentOutOfRangeException>(() => AngularPosition.Theta(-1, 1, 1, 0.343));
        Assert.Throws<ArgumentOutOfRangeException>(() => AngularPosition.Theta(2, -1, 1, 0.343));
        Assert.Throws<ArgumentOutOfRangeException>(() => AngularPosition.Theta(2, 1, 1, 0.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AngularPosition.Theta(2, 1, 1, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => AngularPosition.Theta(2, 1, 1, double.PositiveInfinity));
        Assert.Throws<ArgumentNullException>(() => AngularPosition.Wavelength(null!));
    }

    [Theory]
    [InlineData("apple", 1.372)]
    [InlineData("Echo", 0.980)]
    [InlineData("i", 0.686)]
    [InlineData("over", 1.143)]
    [InlineData("up", 1.225)]
    [InlineData("sun", 0.086)]
    [InlineData("Zed", 0.086)]
    [InlineData("fun", 0.098)]
    [InlineData("vow", 0.098)]
    [InlineData("top", 0.114)]
    [InlineData("dog", 0.114)]
    [InlineData("kid", 0.137)]
    [InlineData("go", 0.137)]
    [InlineData("pan", 0.171)]
    [InlineData("Bob", 0.171)]
    [InlineData("me", 0.343)]
    [InlineData("no", 0.343)]
    [InlineData("lo", 0.490)]
    [InlineData("run", 0.490)]
    [InlineData("we", 0.686)]
    [InlineData("yes", 0.686)]
    [InlineData("cat", 0.343)]
    [InlineData("hat", 0.343)]
    [InlineData(" the", 0.343)]
    [InlineData("42", 0.343)]
    [InlineData("", 0.343)]
    public void Phonetic_wavelength_table(string token, double lambda) => Assert.Equal(lambda, AngularPosition.Wavelength(token));

    [Fact]
    public void Psi_takes_the_nearest_triple_first_on_a_tie()
    {
        // 58 is 2 from 56 (triple 15) and 2 from 60 (triple 11): the first in table order wins.
        Assert.Equal(new PlimptonTriple(45, 60, 75), AngularPosition.NearestTriple(58));
        Assert.Equal(new PlimptonTriple(65, 72, 97), AngularPosition.NearestTriple(100));
        Assert.Equal(new PlimptonTriple(45, 60, 75), AngularPosition.NearestTriple(0));
        Assert.Equal(new PlimptonTriple(12709, 13500, 18541), AngularPosition.NearestTriple(long.MaxValue));
        Assert.Equal(Math.Tau * (58 % 75) / 75 - Math.Tau, AngularPosition.Psi(58)); // 58/75 of a turn > π
        Assert.Equal(Math.Tau * 3 / 97, AngularPosition.Psi(100));
        for (long p = 0; p < 50000; p += 7)
        {
            double psi = AngularPosition.Psi(p);
            Assert.True(psi > -Math.PI && psi <= Math.PI, $"ψ({p}) = {psi}");
        }
    }

    [Fact]
    public void Boundary_partitions_lambda_correction_and_nearness()
    {
        Assert.True(Boundary144000.IsBoundaryPartition(143999, 143999));
        Assert.True(Boundary144000.IsBoundaryPartition(144001, 200000));
        Assert.True(Boundary144000.IsBoundaryPartition(0, long.MaxValue));
        Assert.False(Boundary144000.IsBoundaryPartition(144000, 144000));
        Assert.False(Boundary144000.IsBoundaryPartition(0, 143998));
        Assert.False(Boundary144000.IsBoundaryPartition(144002, 300000));
        Assert.Throws<ArgumentException>(() => Boundary144000.IsBoundaryPartition(10, 9));
        Assert.Equal(LatticeConstants.Lambda, Boundary144000.LambdaCorrection(143000, 145000));
        Assert.Equal(0.0, Boundary144000.LambdaCorrection(0, 1000));
        Assert.True(Boundary144000.IsNear(143900));
        Assert.True(Boundary144000.IsNear(144100));
        Assert.True(Boundary144000.IsNear(144000));
        Assert.False(Boundary144000.IsNear(143899));
        Assert.False(Boundary144000.IsNear(144101));
        Assert.False(Boundary144000.IsNear(long.MinValue));
    }

    [Theory]
    [InlineData(0L, 0L, 0L)]
    [InlineData(0L, 143999L, 0L)]
    [InlineData(0L, 144000L, 1L)]
    [InlineData(143999L, 144000L, 1L)]
    [InlineData(144000L, 144000L, 0L)]
    [InlineData(144000L, 287999L, 0L)]
    [InlineData(144000L, 288000L, 1L)]
    [InlineData(0L, 1000000L, 6L)]
    [InlineData(-1L, 0L, 1L)]
    [InlineData(-144001L, -1L, 1L)]
    [InlineData(long.MinValue, long.MaxValue, 128102389400761L)]
    public void Crossings_count_multiples_of_144000_in_the_half_open_interval(long before, long after, long expected)
    {
        Assert.Equal(expected, Boundary144000.CrossingsBetween(before, after));
    }

    [Fact]
    public void Crossings_agree_with_brute_force_and_reject_backwards_counts()
    {
        var rng = new Random(31);
        for (int i = 0; i < 300; i++)
        {
            long before = rng.NextInt64(-500_000, 1_000_000);
            long after = before + rng.Next(0, 400_000);
            long count = 0;
            long first = before + 1;
            long m = (first % 144000 + 144000) % 144000;
            for (long v = m == 0 ? first : first + (144000 - m); v <= after; v += 144000) count++;
            Assert.Equal(count, Boundary144000.CrossingsBetween(before, after));
        }
        Assert.Throws<ArgumentException>(() => Boundary144000.CrossingsBetween(10, 9));
    }

    [Fact]
    public void Sphere_positions_partition_a_range_contiguously()
    {
        foreach ((long lo, long hi) in new[] { (0L, 288000L), (5L, 5L), (0L, 7L), (-100L, 1000L), (long.MinValue, long.MaxValue), (100L, 112L) })
        {
            long next = lo;
            var groups = new HashSet<int>();
            var sizes = new List<long>();
            for (int s = 0; s < 12; s++)
            {
                SpherePosition sp = SpherePosition.Of(lo, hi, s);
                Assert.Equal(s, sp.Sphere);
                Assert.Equal(s, sp.SymmetryGroup);
                Assert.Equal(next, sp.Start);
                Assert.True(sp.End >= sp.Start);
                sizes.Add(sp.Count);
                next = sp.End;
                groups.Add(sp.SymmetryGroup);
            }
            Assert.Equal(hi, next);
            Assert.Equal(12, groups.Count);
            Assert.True(sizes.Max() - sizes.Min() <= 1);
        }
        // [0, 288000): parts of 24000; 143999 and 144001 fall in sphere 5 ([120000, 144000)) and 6 ([144000, 168000)).
        var boundary = Enumerable.Range(0, 12).Where(s => SpherePosition.Of(0, 288000, s).IsBoundaryPartition).ToArray();
        Assert.Equal([5, 6], boundary);
        Assert.Equal(1, SpherePosition.Of(0, 288000, 13, 24).SymmetryGroup);
        Assert.Throws<ArgumentOutOfRangeException>(() => SpherePosition.Of(0, 10, 12));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpherePosition.Of(0, 10, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpherePosition.Of(0, 10, 0, 0));
        Assert.Throws<ArgumentException>(() => SpherePosition.Of(10, 0, 0));
    }

    [Fact]
    public void Sphere_contains_prime_uses_the_exact_test()
    {
        // [114, 270): 13 numbers per sphere; sphere 0 holds 114…126, inside the prime gap 113 → 127.
        Assert.False(SpherePosition.Of(114, 114 + 12 * 13, 0).ContainsPrime());
        Assert.True(SpherePosition.Of(114, 114 + 12 * 13, 1).ContainsPrime()); // 127…139
        Assert.False(SpherePosition.Of(0, 2, 0, 2).ContainsPrime());           // {0}
        Assert.True(SpherePosition.Of(0, 4, 1, 2).ContainsPrime());            // {2, 3}
        Assert.False(SpherePosition.Of(5, 5, 0).ContainsPrime());
        for (int s = 0; s < 12; s++)
        {
            SpherePosition sp = SpherePosition.Of(0, 2400, s);
            bool expected = false;
            for (long v = sp.Start; v < sp.End; v++) expected |= Primality.IsPrime(v);
            Assert.Equal(expected, sp.ContainsPrime());
        }
    }

    [Fact]
    public void Lattice_embedding_properties()
    {
        var rng = new Random(8);
        for (int i = 0; i < 20000; i++)
        {
            int t = i < 10000 ? i : rng.Next();
            int d = rng.Next(0, 4096);
            double e = LatticeEmbedding.ValueDouble(t, d);
            Assert.False(double.IsNaN(e));
            Assert.InRange(e, -1.0, 1.0);
            if (t % 12 is 3 or 9) Assert.Equal(0.0, e);
        }
        Assert.Equal(1, LatticeEmbedding.SymmetryGroup(13));
        var buf = new float[1300 * 37];
        LatticeEmbedding.Fill(buf, 37);
        for (int t = 0; t < 1300; t++)
            for (int d = 0; d < 37; d++)
                Assert.Equal(LatticeEmbedding.Value(t, d), buf[t * 37 + d]);
        Assert.Throws<ArgumentException>(() => LatticeEmbedding.Fill(new float[10], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatticeEmbedding.Value(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatticeEmbedding.Value(0, -1));
        // Direct double evaluation of the formula, where exact-turn reduction changes nothing material.
        for (int t = 0; t < 600; t++)
            for (int d = 0; d < 30; d++)
            {
                ClockPosition c = BabylonianClock.FromIndex(t);
                double x = Math.Pow(3, c.Ring + (double)c.Position / c.RingSize) * Math.Cos(c.Angle * LatticeConstants.DimensionalFrequency(d % 12))
                    * Math.Cos(2 * Math.PI * (t % 12) / 12) * Math.Tanh(1 + 0.1 * c.Ring + 0.01 * d) / 100;
                Assert.Equal(Math.Tanh(x), LatticeEmbedding.ValueDouble(t, d), 1e-12);
            }
    }
}
