using Crystalline.Hpc.Primes;
using Xunit;

namespace Crystalline.Hpc.Tests.Primes;

public class PrimalityTests
{
    [Fact]
    public void Agrees_with_trial_division_below_100000()
    {
        for (ulong n = 0; n < 100_000; n++)
        {
            bool expected = n >= 2;
            for (ulong d = 2; d * d <= n && expected; d++) if (n % d == 0) expected = false;
            Assert.True(expected == Primality.IsPrime(n), $"n = {n}");
        }
    }

    [Theory]
    [InlineData(143999UL, true)]      // the 13,343rd prime: the lower boundary marker
    [InlineData(144001UL, false)]     // 11 × 13091: the upper marker is not prime
    [InlineData(144013UL, true)]
    [InlineData(2038074743UL, true)]  // the 10^8-th prime
    [InlineData(18446744073709551557UL, true)]  // largest prime below 2^64
    [InlineData(18446744073709551615UL, false)]
    [InlineData(3215031751UL, false)] // strong pseudoprime to bases 2, 3, 5, 7
    [InlineData(3825123056546413051UL, false)] // strong pseudoprime to the first 9 prime bases
    public void Known_values(ulong n, bool prime) => Assert.Equal(prime, Primality.IsPrime(n));
}
