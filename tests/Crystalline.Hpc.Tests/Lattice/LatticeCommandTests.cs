using Crystalline.Cli;
using Crystalline.Hpc.Tests.Cli;
using Xunit;

namespace Crystalline.Hpc.Tests.Lattice;

/// <summary>The <c>crystalline lattice</c> command through Program.Main (console captured; run alone).</summary>
[Collection(ConsoleCollection.Name)]
public class LatticeCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.RunSeparate(args);

    [Fact]
    public void Constants_print_both_forms_and_the_truth_about_the_markers()
    {
        var (code, output, _) = Run("lattice", "constants");
        Assert.Equal(0, code);
        Assert.Contains("3.1415926535897932384626433832795028841972", output, StringComparison.Ordinal); // π to 40 digits, rounded
        Assert.Contains("1.0986122886681096913952452369225257046475", output, StringComparison.Ordinal);
        Assert.Contains("0.0000208333333333333333333333333333333333", output, StringComparison.Ordinal);
        Assert.Contains("143999: prime (the 13,343rd prime)", output, StringComparison.Ordinal);
        Assert.Contains("144001: composite = 11 × 13091", output, StringComparison.Ordinal);
        Assert.Contains("(143999, 144001) is NOT a twin-prime pair", output, StringComparison.Ordinal);
        Assert.Contains("(143879, 143881) below, (144071, 144073) above", output, StringComparison.Ordinal);
        Assert.Contains("next prime after 143999: 144013", output, StringComparison.Ordinal);
        Assert.DoesNotContain(" NO\n", output, StringComparison.Ordinal); // every Plimpton triple checked yes
    }

    [Fact]
    public void Clock_and_theta_print_their_values()
    {
        var (code, output, _) = Run("lattice", "clock", "--index", "50256");
        Assert.Equal(0, code);
        Assert.Contains("ring 4, position 50024 of 1000, angle 314.31006180635165 rad, radius 1.25", output, StringComparison.Ordinal);
        (code, output, _) = Run("lattice", "theta", "--prime", "143999", "--n", "12", "--token", "Zeta");
        Assert.Equal(0, code);
        Assert.Contains("k = 13343 (143999 is the 13,343rd prime)", output, StringComparison.Ordinal);
        Assert.Contains("θ = 1.44231435807877", output, StringComparison.Ordinal); // reference 1.442314358078778
        (code, output, _) = Run("lattice", "theta", "--prime", "144001", "--k", "13344", "--n", "3", "--token", "f");
        Assert.Equal(0, code);
        Assert.Contains("θ = 0.917917281845", output, StringComparison.Ordinal); // reference 0.9179172818454207
    }

    [Theory]
    [InlineData("lattice")]
    [InlineData("lattice", "nope")]
    [InlineData("lattice", "constants", "extra")]
    [InlineData("lattice", "clock")]
    [InlineData("lattice", "clock", "--index", "-1")]
    [InlineData("lattice", "clock", "--index", "abc")]
    [InlineData("lattice", "clock", "--index", "1e30")]
    [InlineData("lattice", "theta")]
    [InlineData("lattice", "theta", "--prime", "144001")]
    [InlineData("lattice", "theta", "--prime", "-7", "--k", "1")]
    [InlineData("lattice", "theta", "--prime", "2147483659")]
    [InlineData("lattice", "theta", "--prime", "7", "--k", "-1")]
    [InlineData("lattice", "theta", "--prime", "7", "--n", "x")]
    [InlineData("lattice", "theta", "--prime", "7", "--bogus", "1")]
    public void Bad_input_exits_with_2_and_a_message(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("crystalline lattice: ", err, StringComparison.Ordinal);
    }
}
