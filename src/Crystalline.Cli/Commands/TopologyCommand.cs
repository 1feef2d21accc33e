using System.Runtime.InteropServices;
using Crystalline.Hpc.Platform;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Cli.Commands;

/// <summary>
/// <c>crystalline topology [--threads N] [--thread-allocation-strategy S] [--no-pin-test]</c>: what the platform layer found (CPUs,
/// cores, sockets, NUMA nodes, caches), the back end and why anything fell back, whether pinning
/// works here (tried for real on a scratch thread), and the 12-group thread allocation.
/// </summary>
internal static class TopologyCommand
{
    private const int MaxCpuRows = 64;

    public static int Run(string[] args)
    {
        var a = new CliArgs(args, ["--no-pin-test"], ["--threads", "--thread-allocation-strategy"]);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        int? threadsOption = a.Has("--threads") ? a.GetInt("--threads", 1, 1, 4096) : null;
        bool pinTest = !a.GetFlag("--no-pin-test");
        ThreadAllocationStrategy strategy = TrainCommand.ParseStrategy(a.GetString("--thread-allocation-strategy", "round-robin"));

        IPlatform p = PlatformServices.Current;
        CpuTopology t = p.Topology;
        int[] allowed = p.GetCurrentAffinity();
        Console.WriteLine($"back end        {p.BackendName}");
        Console.WriteLine($"os              {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        Console.WriteLine($"logical CPUs    {t.LogicalCpuCount} (this process may use {allowed.Length}: {Ranges(allowed)}; Environment.ProcessorCount = {Environment.ProcessorCount})");
        Console.WriteLine($"physical cores  {t.PhysicalCoreCount}");
        Console.WriteLine($"sockets         {t.SocketCount}");
        Console.WriteLine($"NUMA nodes      {t.NumaNodeCount} ({p.NumaAllocationPolicy})");
        Console.WriteLine($"caches          L1d {Size(t.L1DataBytes)}, L2 {Size(t.L2Bytes)}, L3 {Size(t.L3Bytes)}");
        if (p.FallbackReasons.Count == 0) Console.WriteLine("fallbacks       none");
        else
        {
            Console.WriteLine("fallbacks");
            foreach (string r in p.FallbackReasons) Console.WriteLine($"  - {r}");
        }

        if (t.Cpus.Count <= MaxCpuRows)
        {
            Console.WriteLine();
            Console.WriteLine("  cpu  core  socket  node");
            foreach (var c in t.Cpus) Console.WriteLine($"  {c.CpuId,3}  {c.CoreId,4}  {c.SocketId,6}  {c.NumaNode,4}");
        }

        Console.WriteLine();
        if (!p.SupportsAffinity)
        {
            // Ask for real: the back end's refusal names the cause (EPERM from a container, portable back end, …).
            var refused = PinningCheck.Run(p, [allowed[0]]);
            Console.WriteLine("pinning         unavailable: " + (refused.Failures.Count > 0 ? refused.Failures[0] : "no reason given"));
        }
        else if (!pinTest) Console.WriteLine("pinning         supported (test skipped: --no-pin-test)");
        else
        {
            var report = PinningCheck.Run(p, allowed);
            Console.WriteLine(report.AllConfirmed
                ? $"pinning         works: a thread pinned to each of CPUs {Ranges(allowed)} ran there (checked with {(OperatingSystem.IsWindows() ? "GetCurrentProcessorNumberEx" : "sched_getcpu")})"
                : $"pinning         partial: confirmed on {Ranges(report.Confirmed.ToArray())}");
            foreach (string f in report.Failures) Console.WriteLine($"  - {f}");
        }

        // One worker per physical core the process may use: SMT siblings share a core's execution units.
        var allowedSet = allowed.ToHashSet();
        int coresAllowed = t.Cpus.Where(c => allowedSet.Contains(c.CpuId)).Select(c => c.CoreId).Distinct().Count();
        int threads = threadsOption ?? Math.Max(1, coresAllowed);
        Console.WriteLine();
        Console.WriteLine(threadsOption is null
            ? $"thread allocation for this machine ({threads} physical cores usable; --threads N for another count)"
            : $"thread allocation for --threads {threads}");
        Console.Write(new ThreadAllocation(threads, strategy).Describe());
        return 0;
    }

    private static string Size(long bytes) => bytes switch
    {
        <= 0 => "unknown",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} B",
    };

    /// <summary>"0-3,8,10-11" for a sorted list of ids.</summary>
    internal static string Ranges(int[] ids)
    {
        if (ids.Length == 0) return "none";
        var parts = new List<string>();
        int start = ids[0], prev = ids[0];
        for (int i = 1; i <= ids.Length; i++)
        {
            if (i < ids.Length && ids[i] == prev + 1) { prev = ids[i]; continue; }
            parts.Add(start == prev ? $"{start}" : $"{start}-{prev}");
            if (i < ids.Length) start = prev = ids[i];
        }
        return string.Join(',', parts);
    }
}
