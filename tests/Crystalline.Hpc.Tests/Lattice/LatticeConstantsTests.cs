using System.Numerics;
using Crystalline.Hpc.Lattice;
using Crystalline.Hpc.Primes;
using Xunit;

namespace Crystalline.Hpc.Tests.Lattice;

public class LatticeConstantsTests
{
    [Fact]
    public void Named_constants_have_the_designs_values()
    {
        Assert.Equal(12, LatticeConstants.SymmetryGroupCount);
        Assert.Equal(144000, LatticeConstants.VectorCulmination);
        Assert.Equal(new BigInteger(144000), 3 * BigInteger.Pow(12, 3) * 250 / 9);
        Assert.Equal(0, 3 * 1728 * 250 % 9);
        Assert.Equal(143999, LatticeConstants.TwinPrimeLower);
        Assert.Equal(144001, LatticeConstants.TwinPrimeUpper);
        Assert.Equal(3, LatticeConstants.RecursiveBase);
        Assert.Equal(2.0833333333333333e-5, LatticeConstants.Lambda);
        Assert.Equal(1.0 / 48000.0, LatticeConstants.Lambda);
    }

    [Fact]
    public void Double_constants_are_the_correctly_rounded_BigFixed_values()
    {
        Assert.Equal(LatticeConstants.Lambda, BigConstants.Lambda().ToDouble());
        Assert.Equal(LatticeConstants.Ln3, BigConstants.Ln3().ToDouble());
        Assert.Equal(LatticeConstants.Sqrt5, BigConstants.Sqrt5().ToDouble());
        Assert.Equal(LatticeConstants.GoldenRatio, BigConstants.GoldenRatio().ToDouble());
        Assert.Equal(Math.PI, BigConstants.Pi().ToDouble());
        Assert.Equal(Math.Tau, BigConstants.Tau().ToDouble());
        // reference_values.py: double 0x3FF193EA7AAD030B (ln 3), 0x3FDE809DE48AC860 (2π/(12 ln 3)), 0x4024553359459A19 (π(1+√5)).
        Assert.Equal(0x3FF193EA7AAD030BL, BitConverter.DoubleToInt64Bits(LatticeConstants.Ln3));
        Assert.Equal(0x3FDE809DE48AC860L, BitConverter.DoubleToInt64Bits(BigConstants.IndexStep().ToDouble()));
        Assert.Equal(0x4024553359459A19L, BitConverter.DoubleToInt64Bits(BigConstants.SpiralStep().ToDouble()));
        Assert.StartsWith("0.47660014456335454494202340338893958995497929500136", BigConstants.IndexStep().ToString(55));
        Assert.StartsWith("10.16640738463051963161901802648439768366367858644230", BigConstants.SpiralStep().ToString(55));
    }

    [Fact]
    public void Dimensional_frequencies_wrap_at_24()
    {
        int[] expected = [3, 7, 31, 12, 19, 5, 11, 13, 17, 23, 29, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89];
        Assert.Equal(expected, LatticeConstants.DimensionalFrequencies.ToArray());
        for (int i = 0; i < 100; i++) Assert.Equal(expected[i % 24], LatticeConstants.DimensionalFrequency(i));
        Assert.Equal(3, LatticeConstants.DimensionalFrequency(24));
        Assert.Equal(89, LatticeConstants.DimensionalFrequency(47));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatticeConstants.DimensionalFrequency(-1));
    }

    [Fact]
    public void Cymatic_frequencies_and_Plimpton_triples()
    {
        Assert.Equal([174, 285, 396, 417, 432, 528, 639, 741, 852, 963], LatticeConstants.CymaticFrequencies.ToArray());
        Assert.Equal(15, LatticeConstants.PlimptonTriples.Length);
        foreach (PlimptonTriple t in LatticeConstants.PlimptonTriples)
        {
            Assert.Equal(t.C * t.C, t.A * t.A + t.B * t.B);
            Assert.True(t.IsPythagorean);
        }
        Assert.False(new PlimptonTriple(2, 3, 4).IsPythagorean);
        Assert.Equal(new PlimptonTriple(119, 120, 169), LatticeConstants.PlimptonTriples[0]);
        Assert.Equal(new PlimptonTriple(56, 90, 106), LatticeConstants.PlimptonTriples[14]);
    }

    [Fact]
    public void The_boundary_markers_are_not_a_twin_prime_pair_and_the_engine_says_so()
    {
        // Truth (reference_values.py, trial division): 143999 prime, 144001 = 11 × 13091 composite.
        Assert.True(Primality.IsPrime(143999UL));
        Assert.False(Primality.IsPrime(144001UL));
        Assert.Equal(144001, 11 * 13091);
        Assert.Equal(11, BoundaryMarkerFacts.SmallestFactor(144001));
        Assert.Equal(143999, BoundaryMarkerFacts.SmallestFactor(143999));
        Assert.False(BoundaryMarkerFacts.IsTwinPrimePair(LatticeConstants.TwinPrimeLower, LatticeConstants.TwinPrimeUpper));
        Assert.Equal((143879L, 143881L), BoundaryMarkerFacts.NearestTwinPairBelow(143999));
        Assert.Equal((144071L, 144073L), BoundaryMarkerFacts.NearestTwinPairAbove(144001));
        Assert.True(BoundaryMarkerFacts.IsTwinPrimePair(143879, 143881));
        Assert.True(BoundaryMarkerFacts.IsTwinPrimePair(144071, 144073));
        Assert.Equal(144013, BoundaryMarkerFacts.NextPrimeAfter(143999));
        Assert.Equal(13343, PrimeIndex.IndexOf(143999)); // the 13,343rd prime
    }

    [Fact]
    public void Prime_index_counts_like_trial_division_and_known_values()
    {
        long count = 0;
        for (long n = 0; n <= 5000; n++)
        {
            if (Primality.IsPrime(n)) count++;
            Assert.Equal(count, PrimeIndex.CountUpTo(n));
        }
        Assert.Equal(78498, PrimeIndex.CountUpTo(1_000_000));
        Assert.Equal(664579, PrimeIndex.CountUpTo(10_000_000));
        Assert.Equal(13344, PrimeIndex.IndexOf(144013));
        Assert.Equal(1, PrimeIndex.IndexOf(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PrimeIndex.IndexOf(144001));
        Assert.Throws<ArgumentOutOfRangeException>(() => PrimeIndex.IndexOf(2_000_000_011));
    }

    [Fact]
    public void Symmetry_groups_cover_0_to_11_and_primes_above_3_use_only_1_5_7_11()
    {
        var seen = new HashSet<int>();
        for (long n = -30; n < 30; n++)
        {
            int g = LatticeConstants.SymmetryGroupOf(n);
            Assert.InRange(g, 0, 11);
            Assert.Equal(((n % 12) + 12) % 12, g);
            seen.Add(g);
        }
        Assert.Equal(12, seen.Count);
        var primeGroups = new HashSet<int>();
        for (long p = 5; p < 20000; p++)
            if (Primality.IsPrime(p)) primeGroups.Add(BabylonianClock.SymmetryGroup(p));
        Assert.Equal(new HashSet<int> { 1, 5, 7, 11 }, primeGroups);
    }
}
