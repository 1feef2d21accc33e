using Crystalline.Cli;
using Crystalline.Hpc.Tests.Cli;
using Xunit;

namespace Crystalline.Hpc.Tests.Primes;

[Collection(ConsoleCollection.Name)]
public sealed class PrimesCommandTests
{
    private static (int Code, string Output) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Count_prints_result_classes_spheres_and_markers()
    {
        var (code, output) = Run("primes", "count", "1e6", "--threads", "2");
        Assert.Equal(0, code);
        Assert.Contains("pi(1000000) = 78498", output, StringComparison.Ordinal);
        Assert.Contains("residue class mod 12", output, StringComparison.Ordinal);
        Assert.Contains("per-sphere work", output, StringComparison.Ordinal);
        Assert.Contains("boundary marker 143999: prime", output, StringComparison.Ordinal);
        Assert.Contains("boundary marker 144001: not prime", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_verbs()
    {
        Assert.Contains("next prime after 143999 = 144013", Run("primes", "next", "143999").Output, StringComparison.Ordinal);
        Assert.Contains("prime #1000000 = 15485863", Run("primes", "nth", "1e6", "--threads", "1").Output, StringComparison.Ordinal);
        Assert.Contains("= 8169", Run("primes", "twins", "1000000").Output, StringComparison.Ordinal);
        Assert.Contains("primes in [100, 200) = 21", Run("primes", "count", "100", "200").Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("primes")]
    [InlineData("primes", "count")]
    [InlineData("primes", "count", "-5")]
    [InlineData("primes", "count", "200", "100")]
    [InlineData("primes", "count", "1e30")]
    [InlineData("primes", "count", "abc")]
    [InlineData("primes", "count", "1.5")]
    [InlineData("primes", "nth", "0")]
    [InlineData("primes", "next", "9223372036854775783")]
    [InlineData("primes", "frobnicate", "5")]
    [InlineData("primes", "count", "10", "--threads", "0")]
    [InlineData("primes", "count", "10", "--bogus", "1")]
    [InlineData("primes", "count", "1", "2", "3")]
    public void Bad_input_exits_with_2(params string[] args) => Assert.Equal(2, Run(args).Code);
}
