using Xunit;

namespace Crystalline.Hpc.Tests.Cli;

[Collection(ConsoleCollection.Name)]
public sealed class SchedulerCommandTests
{
    [Fact]
    public void Prints_placement_epochs_and_statistics()
    {
        var (code, output) = CliRunner.Run("scheduler", "--threads", "3", "--depth", "2", "--epochs", "4", "--work", "50");
        Assert.True(code == 0, output);
        Assert.Contains("3 worker(s), depth 2 (144 leaf spheres)", output, StringComparison.Ordinal);
        Assert.Contains("4 epoch(s):", output, StringComparison.Ordinal);
        Assert.Contains("spheres Σ             576", output, StringComparison.Ordinal); // 4 epochs × 144 leaves
    }

    [Fact]
    public void Heavy_spheres_spawn_on_demand_and_the_next_epochs_run_the_new_leaves()
    {
        var (code, output) = CliRunner.Run("scheduler", "--threads", "2", "--epochs", "3", "--work", "100", "--skew", "--spawn-heavy");
        Assert.True(code == 0, output);
        // Groups 0, 2 and 4 each became 12 children: 12 − 3 + 36 leaves.
        Assert.Contains("after the first epoch: 45 leaf spheres (shape version 1), hierarchy level 0: 1  level 1: 12  level 2: 36", output, StringComparison.Ordinal);
        Assert.Contains("spheres Σ             135", output, StringComparison.Ordinal); // 3 epochs × 45 leaves
    }

    [Theory]
    [InlineData("scheduler", "--depth", "4", "--spawn-heavy")]
    [InlineData("scheduler", "--threads", "0")]
    [InlineData("scheduler", "--bogus")]
    public void Bad_options_exit_with_2(params string[] args)
    {
        var (code, _) = CliRunner.Run(args);
        Assert.Equal(2, code);
    }
}
