using Crystalline.Cli;
using Xunit;

namespace Crystalline.Hpc.Tests.Cli;

// Runs the real measurements with tiny sizes: checks the tables and the built-in cross-checks
// (work counts, prime counts, bitwise-equal weights), never the timings.
[Collection(ConsoleCollection.Name)]
public sealed class BenchCommandTests
{
    private static (int Code, string Output) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Gemm_prints_peak_and_shape_table()
    {
        var (code, output) = Run("bench", "gemm", "--size", "32", "--rows", "4", "--threads", "2", "--reps", "1");
        Assert.True(code == 0, output);
        Assert.Contains("FMA peak (", output, StringComparison.Ordinal);
        Assert.Contains("shape            M      N      K  threads    best ms   GFLOP/s  %peak  speed-up", output, StringComparison.Ordinal);
        Assert.Contains("square 32", output, StringComparison.Ordinal);
        foreach (string s in new[] { "gpt2 qkv", "gpt2 attproj", "gpt2 fc ", "gpt2 fcproj" })
            Assert.Contains(s, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Scheduler_compares_three_fork_joins()
    {
        var (code, output) = Run("bench", "scheduler", "--threads", "2", "--iterations", "20", "--reps", "1");
        Assert.True(code == 0, output);
        Assert.Contains("µs/fork-join  ratio to RunEpoch", output, StringComparison.Ordinal);
        Assert.Contains("ControlProcess.RunEpoch", output, StringComparison.Ordinal);
        Assert.Contains("Parallel.For(0, 12)", output, StringComparison.Ordinal);
        Assert.Contains("Task.WhenAll(12 tasks)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Primes_counts_and_compares_thread_counts()
    {
        var (code, output) = Run("bench", "primes", "--limit", "1e5", "--threads", "2", "--reps", "1");
        Assert.True(code == 0, output);
        Assert.Contains("pi(100000) = 9592", output, StringComparison.Ordinal);
        Assert.Contains("threads     best ms   primes/s (M)  speed-up", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_reports_steps_and_equal_weights()
    {
        var (code, output) = Run("bench", "train", "--model", "tiny", "--steps", "1", "--batch-size", "2", "--seq-len", "8", "--threads", "2", "--reps", "1");
        Assert.True(code == 0, output);
        Assert.Contains("threads   ms/step   tokens/s  speed-up", output, StringComparison.Ordinal);
        Assert.Contains("weights bitwise equal on 1 and 2 thread(s): yes", output, StringComparison.Ordinal);
    }

    [Fact]
    public void All_quick_runs_every_section()
    {
        var (code, output) = Run("bench", "all", "--quick", "--threads", "1");
        Assert.True(code == 0, output);
        foreach (string s in new[] { "bench gemm", "bench scheduler", "bench primes", "bench train" })
            Assert.Contains("== " + s, output, StringComparison.Ordinal);
        Assert.Contains("n/a (one thread only)", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bench")]
    [InlineData("bench", "frobnicate")]
    [InlineData("bench", "gemm", "--size", "0")]
    [InlineData("bench", "gemm", "--bogus", "1")]
    [InlineData("bench", "gemm", "extra")]
    [InlineData("bench", "scheduler", "--threads", "0")]
    [InlineData("bench", "primes", "--limit", "1")]
    [InlineData("bench", "primes", "--limit", "abc")]
    [InlineData("bench", "train", "--model", "gpt2-124M")]
    [InlineData("bench", "train", "--steps", "0")]
    [InlineData("bench", "train", "--seq-len", "1000")]
    [InlineData("bench", "all", "--reps", "0")]
    public void Bad_options_exit_2(params string[] args)
    {
        var (code, output) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains("crystalline bench:", output, StringComparison.Ordinal);
    }
}
