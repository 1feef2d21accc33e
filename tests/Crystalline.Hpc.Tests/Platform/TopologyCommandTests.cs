using System.Diagnostics;
using Xunit;

namespace Crystalline.Hpc.Tests.Platform;

/// <summary>`crystalline topology` end to end: the built CLI run as a process.</summary>
public sealed class TopologyCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => RunWith(null, args);

    private static (int Code, string Out, string Err) RunWith((string Name, string Value)? env, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "crystalline.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (env is { } e) psi.Environment[e.Name] = e.Value;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    [Fact]
    public void Prints_topology_pinning_and_the_allocation_for_a_thread_count()
    {
        var (code, output, err) = Run("topology", "--threads", "5");
        Assert.True(code == 0, err);
        Assert.Contains("back end", output, StringComparison.Ordinal);
        Assert.Contains($"logical CPUs", output, StringComparison.Ordinal);
        Assert.Contains("NUMA nodes", output, StringComparison.Ordinal);
        Assert.Contains("pinning", output, StringComparison.Ordinal);
        if (OperatingSystem.IsLinux()) Assert.Contains("pinning         works", output, StringComparison.Ordinal);
        Assert.Contains("thread allocation for --threads 5", output, StringComparison.Ordinal);
        Assert.Contains("thread   4: groups 4, 9", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Shows_the_allocation_of_the_chosen_strategy()
    {
        var (code, output, err) = Run("topology", "--threads", "5", "--thread-allocation-strategy", "block", "--no-pin-test");
        Assert.True(code == 0, err);
        Assert.Contains("Thread allocation (block): 5 thread(s)", output, StringComparison.Ordinal);
        Assert.Contains("thread   2: groups 4, 5, 6", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--thread-allocation-strategy", "compact")]
    [InlineData("--threads", "0")]
    [InlineData("--bogus")]
    [InlineData("extra")]
    public void Bad_options_exit_with_code_2(params string[] extra)
    {
        var (code, _, err) = Run(["topology", .. extra]);
        Assert.Equal(2, code);
        Assert.Contains("crystalline topology:", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_switches_select_the_fallbacks_and_the_output_says_so()
    {
        var (code, output, err) = RunWith(("CRYSTALLINE_PLATFORM", "portable"), "topology", "--threads", "2");
        Assert.True(code == 0, err);
        Assert.Contains("back end        portable", output, StringComparison.Ordinal);
        Assert.Contains("CRYSTALLINE_PLATFORM=portable", output, StringComparison.Ordinal);
        Assert.Contains("pinning         unavailable", output, StringComparison.Ordinal);
        if (!OperatingSystem.IsLinux()) return;
        (code, output, err) = RunWith(("CRYSTALLINE_NO_AFFINITY", "1"), "topology");
        Assert.True(code == 0, err);
        Assert.Contains("pinning         unavailable: CPU", output, StringComparison.Ordinal);
        Assert.Contains("EPERM", output, StringComparison.Ordinal);
        (code, output, err) = RunWith(("CRYSTALLINE_NO_NATIVE", "1"), "topology", "--no-pin-test");
        Assert.True(code == 0, err);
        Assert.Contains("back end        linux-sysfs", output, StringComparison.Ordinal);
    }
}
